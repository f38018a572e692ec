/**
 * Renders an emulated agent as a Stat Server `CurrentState` value in the shapes of
 * statserver/examples.json: the Agent → Place → DN tree, with DN actions (and their reasons) only at
 * Subject=DNAction depth. The top-level and DN status follow Stat Server's priority table (a call outranks
 * NotReady / ACW), which is why a consumer must read the actions to learn the agent state.
 */
import type { CallType, EngageState } from '../../vocabulary.ts';
import type { EmulatedAgent } from './crowd.ts';

export type StatisticDepth = 'DNStatus' | 'DNAction';

const STATE_ACTION: Record<Exclude<EngageState, 'LoggedOff'>, [number, string]> = {
  Ready: [4, 'WaitForNextCall'],
  NotReady: [8, 'NotReadyForNextCall'],
  AfterCallWork: [9, 'AfterCallWork'],
};

const CALL_ACTION: Record<Exclude<CallType, 'None'>, [number, string]> = {
  Inbound: [22, 'CallInbound'],
  Outbound: [21, 'CallOutbound'],
  Internal: [20, 'CallInternal'],
  Consult: [19, 'CallConsult'],
  Unknown: [18, 'CallUnknown'],
};

/** The `value` of a CurrentState statistic for `agent` at `depth`. */
export function agentStatusValue(agent: EmulatedAgent, depth: StatisticDepth): Record<string, unknown> {
  const time = Math.floor(agent.since / 1000);
  if (agent.state === 'LoggedOff') {
    return {
      agentId: agent.agentId,
      loginId: '',
      status: 23,
      statusName: 'LoggedOut',
      time,
      place: { placeId: '', status: 23, time, dnStatuses: [] },
    };
  }
  const [stateCode, stateName] = STATE_ACTION[agent.state];
  const call = agent.callType === 'None' ? undefined : CALL_ACTION[agent.callType];
  const [status, statusName] = call ?? [stateCode, stateName];
  const dnStatus: Record<string, unknown> = {
    dnId: agent.dn,
    switchId: 'SIP_Switch',
    dnType: 1,
    status,
    statusName,
    time,
  };
  if (depth === 'DNAction') {
    const stateAction: Record<string, unknown> = { action: stateName, time, actionDataType: 'NoData', connectionId: null };
    if (agent.reason !== null) stateAction['reasons'] = { ReasonCode: agent.reason };
    const actions: Array<Record<string, unknown>> = [stateAction];
    if (call !== undefined) {
      actions.push({
        action: call[1],
        time,
        actionDataType: 'NoData',
        connectionId: `006e02a1${agent.dn}`,
      });
    }
    dnStatus['actions'] = actions;
  }
  return {
    agentId: agent.agentId,
    loginId: agent.dn,
    status,
    statusName,
    time,
    place: { placeId: `Place_${agent.dn}`, status, time, dnStatuses: [dnStatus] },
  };
}
