// A no-op stand-in for the `debug` package inside dist/exas.mjs (see scripts/build.mjs): the real one reads
// every environment variable when it loads, which Deno allows only with an unrestricted --allow-env.
'use strict';

function createDebug(namespace) {
  const debug = () => {};
  debug.namespace = namespace;
  debug.enabled = false;
  debug.log = () => {};
  debug.extend = (suffix, delimiter = ':') => createDebug(`${namespace}${delimiter}${suffix}`);
  debug.destroy = () => true;
  return debug;
}

createDebug.debug = createDebug;
createDebug.default = createDebug;
createDebug.enable = () => {};
createDebug.disable = () => '';
createDebug.enabled = () => false;
createDebug.coerce = (value) => value;
createDebug.names = [];
createDebug.skips = [];
createDebug.formatters = {};

module.exports = createDebug;
