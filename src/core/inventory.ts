/** One resource a deployment owns, as `list`, `status` and the teardown's final check show it. */
export interface InventoryItem {
  /** The resource type as in its ARN: vpc, subnet, natgateway, elastic-ip, instance, volume, role, parameter... */
  type: string;
  id: string;
  name: string;
  state: string;
  /** Whether AWS bills it in this state (capideploy's rules, reference §2.7). */
  billed: boolean;
  /** Instance type or volume size, for the cost estimate. */
  size?: string;
}
