/**
 * Request validation for the GC emulator: each request body is checked against the operation's schema in
 * `openapi-subset.json` (ajv + ajv-formats, strict off because the spec carries vendor keywords), plus the
 * strictness the subset does not spell out: unknown top-level fields, an empty or oversize inject batch,
 * UUID-shaped event ids, duplicate event ids.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import spec from './openapi-subset.json' with { type: 'json' };

/** One problem with a request, in GC's `details[]` terms. */
export interface ValidationProblem {
  readonly fieldName: string;
  readonly message: string;
}

interface SpecSchema {
  type?: string;
  properties?: Record<string, unknown>;
  items?: { $ref?: string };
  $ref?: string;
}

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
(addFormats as unknown as (instance: Ajv) => void)(ajv);
ajv.addSchema({ $id: 'gc', components: spec.components });

const schemas = spec.components.schemas as Record<string, SpecSchema>;
const validators = new Map<string, ValidateFunction>();

type Paths = Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>>;

/** The request body validator of `METHOD /path/template`, or undefined when the operation takes no body. */
function validatorFor(operation: string): ValidateFunction | undefined {
  const cached = validators.get(operation);
  if (cached) return cached;
  const [method, path] = operation.split(' ') as [string, string];
  const schema = (spec.paths as unknown as Paths)[path]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
  if (schema === undefined) return undefined;
  // Refs in the operation point into the spec's components, which live in the `gc` document.
  const compiled = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"gc#/components/')) as object);
  validators.set(operation, compiled);
  return compiled;
}

function describe(errors: ErrorObject[] | null | undefined): ValidationProblem[] {
  return (errors ?? []).map((error) => ({
    fieldName: error.instancePath.replace(/^\//, '').replaceAll('/', '.') || (error.params as { missingProperty?: string }).missingProperty || 'body',
    message: `${error.instancePath || 'body'} ${error.message ?? 'is invalid'}${
      (error.params as { allowedValues?: unknown[] }).allowedValues ? ` (${((error.params as { allowedValues: unknown[] }).allowedValues).join(', ')})` : ''
    }`,
  }));
}

function unknownFields(value: unknown, schemaName: string, where: string): ValidationProblem[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const known = schemas[schemaName]?.properties ?? {};
  return Object.keys(value)
    .filter((key) => !(key in known))
    .map((key) => ({ fieldName: where ? `${where}.${key}` : key, message: `unknown field '${where ? `${where}.` : ''}${key}'` }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which component schema names the top level of each operation's body (for the unknown-field check). */
const TOP_LEVEL: Record<string, string> = {
  'POST /api/v2/events/users/presence': 'BatchUserPresenceEventRequest',
  'POST /api/v2/events/users/routingstatus': 'BatchUserRoutingStatusEventRequest',
  'POST /api/v2/presence/sources': 'Source',
  'PATCH /api/v2/users/{userId}/presences/purecloud': 'UserPresence',
  'PATCH /api/v2/users/{userId}/presences/{sourceId}': 'UserPresence',
  'PUT /api/v2/users/{userId}/routingstatus': 'RoutingStatus',
  'POST /api/v2/users/search': 'UserSearchRequest',
};

/** Validates a request body against the spec subset plus the emulator's extra strictness. */
export function validateBody(operation: string, body: unknown, options: { maxBatchSize: number }): ValidationProblem[] {
  const validate = validatorFor(operation);
  const problems: ValidationProblem[] = [];
  if (validate !== undefined && !validate(body)) problems.push(...describe(validate.errors));
  const topLevel = TOP_LEVEL[operation];
  if (topLevel !== undefined) problems.push(...unknownFields(body, topLevel, ''));
  if (operation === 'POST /api/v2/events/users/presence' || operation === 'POST /api/v2/events/users/routingstatus') {
    problems.push(...checkBatch(operation, body, options.maxBatchSize));
  }
  return problems;
}

function checkBatch(operation: string, body: unknown, maxBatchSize: number): ValidationProblem[] {
  const presence = operation.endsWith('/presence');
  const listName = presence ? 'userPresenceEvents' : 'userRoutingStatusEvents';
  const eventSchema = presence ? 'UserPresenceEvent' : 'UserRoutingStatusEvent';
  const list = (body as Record<string, unknown> | null)?.[listName];
  if (!Array.isArray(list) || list.length === 0) return [{ fieldName: listName, message: `${listName} must be a non-empty list` }];
  if (list.length > maxBatchSize) {
    return [{ fieldName: listName, message: `${listName} holds ${list.length} events; at most ${maxBatchSize} are accepted per request` }];
  }
  const problems: ValidationProblem[] = [];
  list.forEach((event: unknown, index) => {
    problems.push(...unknownFields(event, eventSchema, `${listName}[${index}]`));
    const eventId = (event as Record<string, unknown> | null)?.['eventId'];
    if (typeof eventId === 'string' && !UUID.test(eventId)) {
      problems.push({ fieldName: `${listName}[${index}].eventId`, message: `eventId '${eventId}' is not a UUID` });
    }
  });
  return problems;
}

/** Validates `value` against a component schema (tests use this to check emulator answers against the spec). */
export function validateAgainstComponent(schemaName: string, value: unknown): ValidationProblem[] {
  const key = `component ${schemaName}`;
  let validate = validators.get(key);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `gc#/components/schemas/${schemaName}` });
    validators.set(key, validate);
  }
  return validate(value) ? [] : describe(validate.errors);
}
