/** IPv4 addresses and CIDR blocks as numbers: the planner lays out IPs with these, the spec checks CIDRs with them. */

/** `10.5.0.11` → 168099851. The address must already be a valid dotted quad. */
export function ipToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** 168099851 → `10.5.0.11`. */
export function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** A CIDR block: its first address and prefix length. `network` is the CIDR with its host bits cleared. */
export interface Cidr {
  address: number;
  prefix: number;
  /** The block's network address as a CIDR: `203.0.113.7/24` → `203.0.113.0/24`. */
  network: string;
  /** True when the address has bits set beyond the prefix, which EC2 refuses in a security-group rule or VPC. */
  hostBits: boolean;
}

/** Reads a CIDR that already matches the cidr parameter rule (`a.b.c.d/n`). */
export function parseCidr(cidr: string): Cidr {
  const [ip, bits] = cidr.split('/');
  const prefix = Number(bits);
  const address = ipToNumber(ip);
  const size = 2 ** (32 - prefix);
  const first = Math.floor(address / size) * size;
  return { address, prefix, network: `${numberToIp(first)}/${prefix}`, hostBits: first !== address };
}
