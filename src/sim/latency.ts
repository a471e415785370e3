/**
 * The simulator's latency model, in virtual seconds: how long AWS takes to settle each asynchronous change.
 * Figures are typical values from reference/aws-facts.md; the benchmark derives the critical path of a create
 * from this same table, so the ratio it prints compares the workflow against the model, not against a guess.
 */
export const LATENCY_SECONDS = {
  vpcAvailable: 2,
  natGatewayAvailable: 120,
  natGatewayDeleted: 60,
  instanceRunning: 30,
  instanceTerminated: 40,
  volumeCreated: 4,
  volumeAttached: 4,
  volumeDetached: 4,
  volumeDeleted: 2,
  /** A new instance profile is not usable by RunInstances for this long. */
  instanceProfilePropagation: 10,
  /** From running and reachable (route to NAT or IGW) to SSM PingStatus Online. */
  ssmAgentOnline: 20,
  /** From SendCommand to the invocation existing (GetCommandInvocation says InvocationDoesNotExist before). */
  commandRegistered: 1,
  /** From registered to InProgress. */
  commandDelivered: 2,
} as const;
