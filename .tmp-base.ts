import sample from './examples/sample.json' with { type: 'json' };
import { DeploymentSpecSchema } from './src/core/spec/schema.js';
import { runCapideployBaseline } from './src/bench/capideploy-baseline.js';
const size = Number(process.argv[2]);
const spec = DeploymentSpecSchema.parse({ ...sample, name: `b${size}`, cassandraNodes: size, daemons: size });
const r = await runCapideployBaseline(spec);
console.log(JSON.stringify(r, null, 1));
