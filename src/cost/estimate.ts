import type { InventoryItem } from '../core/inventory.js';
import {
  GP3_GIB_MONTH_USD,
  HOURS_PER_MONTH,
  INSTANCE_HOURLY_USD,
  isPricedRegion,
  LOGS_STORAGE_GB_MONTH_USD,
  NAT_GATEWAY_HOURLY_USD,
  PUBLIC_IPV4_HOURLY_USD,
  SNAPSHOT_GB_MONTH_USD,
} from './prices.js';

/**
 * The hourly cost of what a deployment owns, from the price table in prices.ts and capideploy's billing rules
 * (reference/capideploy-spec.md §2.7): an instance costs while pending or running (a stopped one does not, its
 * volumes still do), a NAT gateway while pending or available, an elastic IP always (public IPv4 is charged
 * associated or not), a volume unless it is being deleted or gone. VPCs, subnets, route tables, internet
 * gateways, security groups, IAM and SSM parameters are "billed" in capideploy's sense (they exist) at no hourly
 * charge. A price the table lacks gives a null cost and a note, never an error.
 */

/** One resource with its estimated cost. */
/** One line of a cost estimate. */
export interface CostItem {
  /** What is billed: "instance", "natgateway", "volume"... or a free label. */
  name: string;
  type?: string;
  size?: string;
  count?: number;
  /** USD per hour for this line. */
  hourly: number;
}

/** What the deployment costs per hour while its resources exist. */
export interface HourlyCost {
  total: number;
  currency: 'USD';
  items?: CostItem[];
}

export interface CostedItem extends InventoryItem {
  /** USD per hour; 0 for what has no hourly charge or is not billed in its state; null when not priced. */
  hourlyUsd: number | null;
  /** Why the cost is null (or what it leaves out). */
  note?: string;
}

export interface CostEstimate {
  region: string;
  currency: 'USD';
  items: CostedItem[];
  /** Sum of the priced items: a lower bound when `complete` is false. */
  hourlyUsd: number;
  /** False when some billed item has no price (see the items' notes). */
  complete: boolean;
  notes: string[];
}

const INSTANCE_BILLED = new Set(['pending', 'running']);
const NAT_BILLED = new Set(['pending', 'available']);
const VOLUME_BILLED = new Set(['creating', 'available', 'in-use']);
const VPC_ACTIVE = new Set(['pending', 'available']);
const IMAGE_BILLED = new Set(['available', 'disabled', 'error', 'pending', 'transient']);

/** Whether a resource is billed in its state, by capideploy's rules; other types keep the inventory's flag. */
export function isBilled(item: Pick<InventoryItem, 'type' | 'state' | 'billed'>): boolean {
  switch (item.type) {
    case 'instance':
      return INSTANCE_BILLED.has(item.state);
    case 'natgateway':
      return NAT_BILLED.has(item.state);
    case 'volume':
      return VOLUME_BILLED.has(item.state);
    case 'vpc':
      return VPC_ACTIVE.has(item.state);
    case 'image':
      return IMAGE_BILLED.has(item.state);
    case 'elastic-ip':
    case 'snapshot':
    case 'subnet':
    case 'security-group':
      return true;
    default:
      return item.billed;
  }
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

function priceOf(
  item: InventoryItem,
  billed: boolean,
  region: string,
): { hourlyUsd: number | null; note?: string } {
  if (!billed) return { hourlyUsd: 0 };
  const regionKnown = isPricedRegion(region);
  const noRegion = { hourlyUsd: null, note: `no prices for region ${region} in src/cost/prices.ts` };
  switch (item.type) {
    case 'instance': {
      if (!regionKnown) return noRegion;
      const hourly = item.size ? INSTANCE_HOURLY_USD[region][item.size] : undefined;
      if (hourly === undefined) {
        return {
          hourlyUsd: null,
          note: item.size
            ? `instance type ${item.size} is not in the price table (src/cost/prices.ts) for ${region}`
            : 'instance type unknown',
        };
      }
      return { hourlyUsd: hourly };
    }
    case 'natgateway':
      return regionKnown ? { hourlyUsd: NAT_GATEWAY_HOURLY_USD[region] } : noRegion;
    case 'elastic-ip':
      return { hourlyUsd: PUBLIC_IPV4_HOURLY_USD };
    case 'volume': {
      if (!regionKnown) return noRegion;
      const gib = Number(item.size);
      if (!item.size || !Number.isFinite(gib) || gib < 0)
        return { hourlyUsd: null, note: 'volume size unknown' };
      return { hourlyUsd: round((gib * GP3_GIB_MONTH_USD[region]) / HOURS_PER_MONTH) };
    }
    case 'log-group': {
      // Stored bytes of the cluster's log group; one price for every region (an approximation, see prices.ts).
      const bytes = Number(item.size ?? 0);
      return { hourlyUsd: round(((bytes / 1e9) * LOGS_STORAGE_GB_MONTH_USD) / HOURS_PER_MONTH) };
    }
    case 'image':
      // An AMI is billed through its snapshots, which the inventory lists (and prices) on their own.
      return { hourlyUsd: 0, note: 'billed through its snapshots' };
    case 'snapshot': {
      // Standard-tier storage at the full volume size (an upper bound: AWS bills changed blocks); see prices.ts.
      const gib = Number(item.size);
      if (!item.size || !Number.isFinite(gib) || gib < 0)
        return { hourlyUsd: null, note: 'snapshot size unknown' };
      return { hourlyUsd: round((gib * SNAPSHOT_GB_MONTH_USD) / HOURS_PER_MONTH) };
    }
    default:
      return { hourlyUsd: 0 };
  }
}

/** Per-resource hourly cost and the total, in the region of the deployment. */
export function estimateCost(items: InventoryItem[], region: string): CostEstimate {
  const costed = items.map((item): CostedItem => {
    const billed = isBilled(item);
    const price = priceOf(item, billed, region);
    return {
      type: item.type,
      id: item.id,
      name: item.name,
      state: item.state,
      billed,
      ...(item.size === undefined ? {} : { size: item.size }),
      hourlyUsd: price.hourlyUsd,
      ...(price.note ? { note: price.note } : {}),
    };
  });
  const notes = [
    ...new Set(costed.filter((item) => item.note).map((item) => `${item.type} ${item.id}: ${item.note}`)),
  ];
  return {
    region,
    currency: 'USD',
    items: costed,
    hourlyUsd: round(costed.reduce((sum, item) => sum + (item.hourlyUsd ?? 0), 0)),
    complete: costed.every((item) => item.hourlyUsd !== null),
    notes,
  };
}

/** The estimate as the HTML report shows it: one line per priced kind (type and size), with counts. */
export function toHourlyCost(estimate: CostEstimate): HourlyCost {
  const lines = new Map<string, CostItem>();
  for (const item of estimate.items) {
    if (!item.billed || !item.hourlyUsd) continue;
    const key = `${item.type}|${item.size ?? ''}`;
    const line = lines.get(key) ?? {
      name: item.type,
      type: item.type === 'instance' ? item.size : undefined,
      size: item.type === 'volume' && item.size ? `${item.size} GiB` : undefined,
      count: 0,
      hourly: 0,
    };
    line.count = (line.count ?? 0) + 1;
    line.hourly = round(line.hourly + item.hourlyUsd);
    lines.set(key, line);
  }
  return { total: estimate.hourlyUsd, currency: 'USD', items: [...lines.values()] };
}

/** `$0.0416`; `-` for no hourly charge; `n/a` when not priced. */
export function formatUsd(hourlyUsd: number | null): string {
  if (hourlyUsd === null) return 'n/a';
  if (hourlyUsd === 0) return '-';
  return `$${hourlyUsd.toFixed(4)}`;
}
