/**
 * The price table of the cost estimate, kept in the repository so `status`, `list` and the report work offline.
 *
 * Source: the public AWS price lists (EC2 On-Demand, Linux/UNIX, shared tenancy; Amazon VPC NAT gateway and
 * public IPv4 address pricing; Amazon EBS gp3), list prices in USD as published in 2025, compiled by hand on
 * 2026-11-24 and NOT fetched at run time. Within one instance family AWS prices each size linearly
 * (xlarge = 2 × large ...), which the table follows, rounded to 4 decimals. Savings plans, reserved instances,
 * data transfer, NAT data processing ($0.045/GB in us-east-1) and the gp3 baseline IOPS/throughput (free) are not
 * counted: the estimate is the hourly run rate of what exists, for an operator to see what a forgotten
 * deployment costs. Re-check the pricing pages before budgeting, and update the date above when you do.
 */

/**
 * CloudWatch Logs storage (archived logs), USD per GB-month: the list price in US East (N. Virginia). Ingestion
 * ($0.50/GB there) is a one-off per line, not a run rate, and is not counted.
 */
export const LOGS_STORAGE_GB_MONTH_USD = 0.03;

/** Regions the table covers. */
export const PRICED_REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1'] as const;
export type PricedRegion = (typeof PRICED_REGIONS)[number];

/** US East (N. Virginia, Ohio) and US West (Oregon) have the same on-demand list prices for these types. */
const US_LIST_PRICES: Readonly<Record<string, number>> = {
  't3.micro': 0.0104,
  't3.small': 0.0208,
  't3.medium': 0.0416,
  'c5ad.xlarge': 0.172,
  'c5ad.2xlarge': 0.344,
  'c5ad.4xlarge': 0.688,
  'c5ad.8xlarge': 1.376,
  'c5ad.16xlarge': 2.752,
  'c6a.large': 0.0765,
  'c6a.xlarge': 0.153,
  'c6a.2xlarge': 0.306,
  'c6a.4xlarge': 0.612,
  'c7g.medium': 0.0363,
  'c7g.large': 0.0725,
  'c7g.xlarge': 0.145,
  'c7g.2xlarge': 0.29,
  'c7g.4xlarge': 0.58,
  'c7gd.xlarge': 0.1814,
  'c7gd.2xlarge': 0.3628,
  'c7gd.4xlarge': 0.7256,
  'c7gd.8xlarge': 1.4512,
  'c7gd.16xlarge': 2.9024,
};

/** USD per hour of one running instance, by region and instance type (every type of src/core/spec/flavors.ts). */
export const INSTANCE_HOURLY_USD: Readonly<Record<PricedRegion, Readonly<Record<string, number>>>> = {
  'us-east-1': US_LIST_PRICES,
  'us-east-2': US_LIST_PRICES,
  'us-west-2': US_LIST_PRICES,
  'eu-west-1': {
    't3.micro': 0.0114,
    't3.small': 0.0228,
    't3.medium': 0.0456,
    'c5ad.xlarge': 0.196,
    'c5ad.2xlarge': 0.392,
    'c5ad.4xlarge': 0.784,
    'c5ad.8xlarge': 1.568,
    'c5ad.16xlarge': 3.136,
    'c6a.large': 0.0821,
    'c6a.xlarge': 0.1642,
    'c6a.2xlarge': 0.3284,
    'c6a.4xlarge': 0.6568,
    'c7g.medium': 0.0389,
    'c7g.large': 0.0777,
    'c7g.xlarge': 0.1554,
    'c7g.2xlarge': 0.3108,
    'c7g.4xlarge': 0.6216,
    'c7gd.xlarge': 0.1944,
    'c7gd.2xlarge': 0.3888,
    'c7gd.4xlarge': 0.7776,
    'c7gd.8xlarge': 1.5552,
    'c7gd.16xlarge': 3.1104,
  },
  'eu-central-1': {
    't3.micro': 0.012,
    't3.small': 0.024,
    't3.medium': 0.048,
    'c5ad.xlarge': 0.1988,
    'c5ad.2xlarge': 0.3976,
    'c5ad.4xlarge': 0.7952,
    'c5ad.8xlarge': 1.5904,
    'c5ad.16xlarge': 3.1808,
    'c6a.large': 0.0873,
    'c6a.xlarge': 0.1746,
    'c6a.2xlarge': 0.3492,
    'c6a.4xlarge': 0.6984,
    'c7g.medium': 0.0413,
    'c7g.large': 0.0826,
    'c7g.xlarge': 0.1652,
    'c7g.2xlarge': 0.3304,
    'c7g.4xlarge': 0.6608,
    'c7gd.xlarge': 0.2068,
    'c7gd.2xlarge': 0.4136,
    'c7gd.4xlarge': 0.8272,
    'c7gd.8xlarge': 1.6544,
    'c7gd.16xlarge': 3.3088,
  },
};

/** USD per hour of a NAT gateway that exists (pending or available), data processing not included. */
export const NAT_GATEWAY_HOURLY_USD: Readonly<Record<PricedRegion, number>> = {
  'us-east-1': 0.045,
  'us-east-2': 0.045,
  'us-west-2': 0.045,
  'eu-west-1': 0.048,
  'eu-central-1': 0.052,
};

/**
 * USD per hour of a public IPv4 address, elastic IPs included whether associated or idle (AWS charges every
 * public IPv4 address since 2024-02-01, the same in every region).
 */
export const PUBLIC_IPV4_HOURLY_USD = 0.005;

/** USD per GiB-month of EBS gp3 storage. */
export const GP3_GIB_MONTH_USD: Readonly<Record<PricedRegion, number>> = {
  'us-east-1': 0.08,
  'us-east-2': 0.08,
  'us-west-2': 0.08,
  'eu-west-1': 0.088,
  'eu-central-1': 0.0952,
};

/**
 * USD per GB-month of EBS snapshot storage, standard tier (images create: the snapshots behind each AMI). Source:
 * Amazon EBS User Guide, "Pricing and billing for Amazon EBS snapshots archive"
 * (https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-archive-pricing.html): standard tier $0.05 per
 * GB-month, which is the long-standing us-east-1 list price (reference/ops-facts.md §2; the page names no region,
 * so the same figure is used for every region: an estimate; re-check https://aws.amazon.com/ebs/pricing/). AWS
 * bills only the changed blocks of a snapshot: the full volume size used here is an upper bound.
 */
export const SNAPSHOT_GB_MONTH_USD = 0.05;

/** AWS bills EBS per GiB-month prorated by the hour, with a month of 730 hours. */
export const HOURS_PER_MONTH = 730;

export function isPricedRegion(region: string): region is PricedRegion {
  return (PRICED_REGIONS as readonly string[]).includes(region);
}
