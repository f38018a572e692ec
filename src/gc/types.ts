/**
 * The GC response shapes EXAS reads (fields of the spec subset in `gc-api/openapi-subset.json`; GC marks
 * nearly every field optional, and so do these types).
 */
import type { ObservedRoutingStatus } from './wire.ts';

export interface GcPresenceDefinition {
  id: string;
  name?: string;
  type?: 'System' | 'User';
  languageLabels?: Record<string, string>;
  systemPresence?: string;
  divisionId?: string;
  deactivated?: boolean;
}

export interface GcPresenceSource {
  id: string;
  name: string;
  description?: string;
  type?: 'System' | 'User';
  deactivated?: boolean;
}

export interface GcUser {
  id: string;
  name?: string;
  email?: string;
  username?: string;
  state?: string;
  version?: number;
  employerInfo?: { employeeId?: string; [key: string]: unknown };
  presence?: GcWireUserPresence;
  routingStatus?: { userId?: string; status?: string; startTime?: string };
}

export interface GcWireUserPresence {
  id?: string;
  userId?: string;
  source?: string;
  sourceId?: string;
  primary?: boolean;
  presenceDefinition?: { id?: string; systemPresence?: string };
  message?: string;
  modifiedDate?: string;
}

/** A user's presence from one source, as EXAS reads it. */
export interface UserPresenceReading {
  userId: string;
  presenceDefinitionId: string | undefined;
  /** GC's system presence (normalised, e.g. `OnQueue`), when GC sent one. */
  systemPresence: string | undefined;
  sourceId: string | undefined;
  primary: boolean | undefined;
  modifiedDate: string | undefined;
}

/** A user's routing status in EXAS's vocabulary (`NotResponding` included: GC sets it). */
export interface RoutingStatusReading {
  userId: string;
  routingStatus: ObservedRoutingStatus;
  startTime: string | undefined;
}

export interface GcUserPage {
  entities: GcUser[];
  pageSize: number;
  pageNumber: number;
  total: number | undefined;
  pageCount: number | undefined;
}

/** One failed event of an inject batch (`BatchEventResponse.errors[]`). */
export interface GcEventError {
  eventId: string;
  message: string;
  retryable: boolean;
}

export interface GcChannel {
  id: string;
  connectUri: string;
  expires: string | undefined;
}

export interface GcChannelTopic {
  id: string;
  state?: 'Permitted' | 'Rejected';
  rejectionReason?: string;
  missingPermissions?: string[];
}

/** `GET/PUT /api/v2/presence/users/{userId}/primarysource` (`UserPrimarySource` in the SDK typings). */
export interface GcUserPrimarySource {
  id?: string;
  name?: string;
  sourceId?: string;
  registered?: boolean;
}
