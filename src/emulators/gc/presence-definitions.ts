/**
 * The emulated org's presence catalog: the ten system presence definitions (with the ids public samples
 * show for every org) and a few custom (secondary) presences under system ones.
 */

export interface EmulatedPresenceDefinition {
  readonly id: string;
  readonly type: 'System' | 'User';
  /** Enum of `OrganizationPresenceDefinition.systemPresence`. */
  readonly systemPresence: string;
  /** en_US label: the system name for system definitions, the custom label otherwise. */
  readonly label: string;
}

export const SYSTEM_DEFINITIONS: ReadonlyArray<EmulatedPresenceDefinition> = [
  { id: '6a3af858-942f-489d-9700-5f9bcdcdae9b', type: 'System', systemPresence: 'Available', label: 'Available' },
  { id: '31fe3bac-dea6-44b7-bed7-47f91660a1a0', type: 'System', systemPresence: 'Busy', label: 'Busy' },
  { id: '5e5c5c66-ea97-4e7f-ac41-6424784829f2', type: 'System', systemPresence: 'Away', label: 'Away' },
  { id: '227b37e2-f1d0-4dd0-8f50-badd7cf6d158', type: 'System', systemPresence: 'Break', label: 'Break' },
  { id: '3fd96123-badb-4f69-bc03-1b1ccc6d8014', type: 'System', systemPresence: 'Meal', label: 'Meal' },
  { id: 'bbdff279-7ae1-48ea-bade-7831d7234c64', type: 'System', systemPresence: 'Meeting', label: 'Meeting' },
  { id: 'd2390a99-8546-bad9-8f0a-219548e8aeb0', type: 'System', systemPresence: 'Training', label: 'Training' },
  { id: 'e08eaf1b-ee47-4fa9-a231-1200e284798f', type: 'System', systemPresence: 'OnQueue', label: 'On Queue' },
  { id: '7ffa01cd-7866-4ad7-8faa-31e11b42f51f', type: 'System', systemPresence: 'Idle', label: 'Idle' },
  { id: 'ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5', type: 'System', systemPresence: 'Offline', label: 'Offline' },
];

export const CUSTOM_DEFINITIONS: ReadonlyArray<EmulatedPresenceDefinition> = [
  { id: 'c0ffee00-0000-4000-8000-000000000001', type: 'User', systemPresence: 'Meal', label: 'Lunch Break' },
  { id: 'c0ffee00-0000-4000-8000-000000000002', type: 'User', systemPresence: 'Training', label: 'Coaching' },
  { id: 'c0ffee00-0000-4000-8000-000000000003', type: 'User', systemPresence: 'Busy', label: 'Project Work' },
];

export const ALL_DEFINITIONS: ReadonlyArray<EmulatedPresenceDefinition> = [...SYSTEM_DEFINITIONS, ...CUSTOM_DEFINITIONS];

export const DEFINITION_BY_ID: ReadonlyMap<string, EmulatedPresenceDefinition> = new Map(ALL_DEFINITIONS.map((d) => [d.id, d]));

/** The vocabulary name of a definition: the system presence for system ones, the label for custom ones. */
export function vocabularyName(definition: EmulatedPresenceDefinition): string {
  return definition.type === 'System' ? definition.systemPresence : definition.label;
}

const BY_NAME = new Map<string, EmulatedPresenceDefinition>();
for (const definition of ALL_DEFINITIONS) if (!BY_NAME.has(vocabularyName(definition))) BY_NAME.set(vocabularyName(definition), definition);

/** The definition for a vocabulary name (`OnQueue`) or custom label (`Lunch Break`). */
export function definitionByName(name: string): EmulatedPresenceDefinition | undefined {
  return BY_NAME.get(name);
}

/** The wire shape of `GET /api/v2/presence/definitions` entries. */
export function toWireDefinition(definition: EmulatedPresenceDefinition): Record<string, unknown> {
  return {
    id: definition.id,
    type: definition.type,
    languageLabels: { en_US: definition.label },
    systemPresence: definition.systemPresence,
    deactivated: false,
    selfUri: `/api/v2/presence/definitions/${definition.id}`,
  };
}

/** Notifications and user presence spell the system presence in upper snake case (`ON_QUEUE`). */
export function notificationSystemPresence(definition: EmulatedPresenceDefinition): string {
  return definition.systemPresence.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}
