// The official client ships no types; the contract test describes the part it calls.
declare module 'genesys-statistics-client-js' {
  const Statistics: unknown;
  export default Statistics;
}
