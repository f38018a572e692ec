/**
 * Permissions of the GC emulator's OAuth clients, and which operation needs which. The table follows the
 * official SDK docs (`build/docs/*Api.md` of platform-client-sdk-javascript 259.0.0, "Requires ANY/ALL
 * permissions"), plus Genesys's announcement that a PATCH of another user's presence needs
 * `presence:userPresence:edit` from 20 July 2025 (a client-credentials token is never "the user", so every
 * PATCH it sends is on another user). Operations the SDK lists with no permission are not checked.
 *
 * A missing permission is answered as GC does: 403 with code `missing.any.permissions` (SDK "Requires ANY")
 * or `missing.permissions` ("Requires ALL"), the permissions named in the message and in `messageParams`.
 */

/** What one operation needs: any one of `permissions`, or all of them. */
export interface RequiredPermissions {
  readonly mode: 'any' | 'all';
  readonly permissions: readonly string[];
}

const any = (...permissions: string[]): RequiredPermissions => ({ mode: 'any', permissions });
const all = (...permissions: string[]): RequiredPermissions => ({ mode: 'all', permissions });

/** Route template (`METHOD /path/:param`, as the emulator registers it) → what it needs. */
export const ROUTE_PERMISSIONS: Readonly<Record<string, RequiredPermissions>> = {
  'GET /api/v2/presence/definitions': all('presence:presenceDefinition:view'),
  'GET /api/v2/presence/definitions/:definitionId': all('presence:presenceDefinition:view'),
  'GET /api/v2/presence/sources': all('presence:source:view'),
  'POST /api/v2/presence/sources': all('presence:source:add'),
  'GET /api/v2/presence/users/:userId/primarysource': all('presence:userPrimarySource:view'),
  'PUT /api/v2/presence/users/:userId/primarysource': all('presence:userPrimarySource:edit'),
  'POST /api/v2/events/users/presence': any('presence:userPresence:inject'),
  'POST /api/v2/events/users/routingstatus': any('routing:routingstatus:inject'),
  'PUT /api/v2/users/presences/bulk': any('presence:userPresence:edit'),
  'PATCH /api/v2/users/:userId/presences/purecloud': any('presence:userPresence:edit'),
  'PATCH /api/v2/users/:userId/presences/:sourceId': any('presence:userPresence:edit'),
  'POST /api/v2/users/search': any('directory:user:view'),
};

/**
 * The permissions a client gets by default: exactly what EXAS needs in either write mode (every permission
 * the table above names).
 */
export const EXAS_PERMISSIONS: readonly string[] = [...new Set(Object.values(ROUTE_PERMISSIONS).flatMap((required) => required.permissions))].sort();

/** The permissions `granted` lacks for `required`; empty when the call is allowed. */
export function missingPermissions(required: RequiredPermissions | undefined, granted: ReadonlySet<string>): string[] {
  if (required === undefined) return [];
  if (required.mode === 'any') return required.permissions.some((permission) => granted.has(permission)) ? [] : [...required.permissions];
  return required.permissions.filter((permission) => !granted.has(permission));
}

/** GC's 403 body parts for missing permissions (the caller adds `status`, `contextId`, `details`, `errors`). */
export function permissionDenied(required: RequiredPermissions, missing: readonly string[]): {
  code: string;
  message: string;
  messageWithParams: string;
  messageParams: Record<string, string>;
} {
  const list = `[${missing.join(', ')}]`;
  const template =
    required.mode === 'any'
      ? 'Unable to perform the requested action. You must have at least one of the following permissions assigned: {permissions}'
      : 'Unable to perform the requested action. You are missing the following permission(s): {permissions}';
  return {
    code: required.mode === 'any' ? 'missing.any.permissions' : 'missing.permissions',
    message: template.replace('{permissions}', list),
    messageWithParams: template,
    messageParams: { permissions: list },
  };
}

const PERMISSION = /^[A-Za-z0-9_-]+:[A-Za-z0-9_*-]+:[A-Za-z0-9_*-]+$/;

/** Checks a `PUT /emulator/clients/{id}/permissions` body; returns the permissions or an error message. */
export function parsePermissionsBody(body: unknown): readonly string[] | string {
  const list = (body as { permissions?: unknown } | null)?.permissions;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(list)) {
    return 'expected {"permissions": ["domain:entity:action", ...]}';
  }
  const extra = Object.keys(body).filter((key) => key !== 'permissions');
  if (extra.length > 0) return `unknown field '${extra[0]}' (expected only "permissions")`;
  for (const [index, permission] of list.entries()) {
    if (typeof permission !== 'string' || !PERMISSION.test(permission)) {
      return `permissions[${index}] must look like domain:entity:action (got ${JSON.stringify(permission)})`;
    }
  }
  return [...new Set(list as string[])].sort();
}
