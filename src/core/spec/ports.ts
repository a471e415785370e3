/**
 * The ports the security groups open: the bastion's public ones (to allowedCidrs, behind nginx) and the internal
 * ones (to the VPC). The planner builds the rules from these; the spec names the public ones when it refuses or
 * warns about 0.0.0.0/0.
 */

export const PUBLIC_PORTS = [
  { port: 80, description: 'Capillaries UI (nginx)' },
  { port: 6544, description: 'Capillaries webapi (nginx reverse proxy)' },
  { port: 9090, description: 'Prometheus UI (nginx reverse proxy)' },
  { port: 15672, description: 'RabbitMQ console (nginx reverse proxy)' },
] as const;

export const INTERNAL_PORTS = [
  { port: 9090, description: 'Prometheus' },
  { port: 9100, description: 'node exporter' },
  { port: 7070, description: 'Cassandra JMX exporter' },
  { port: 7000, description: 'Cassandra gossip' },
  { port: 9042, description: 'Cassandra CQL' },
  { port: 5672, description: 'AMQP' },
  { port: 15672, description: 'RabbitMQ management' },
  { port: 15692, description: 'RabbitMQ Prometheus metrics' },
  { port: 9201, description: 'Capillaries daemon metrics' },
] as const;
