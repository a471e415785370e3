import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MachineName } from '../core/catalogue.js';
import { createDeployment } from './create-deployment.js';
import { deleteDeployment } from './delete-deployment.js';
import { createImages, deleteImages } from './images-machines.js';
import { startDeployment } from './start-deployment.js';
import { stopDeployment } from './stop-deployment.js';

/** The state machine files and their builders; `npm run asl` writes them, a test checks they are current. */
export const MACHINES: Record<MachineName, () => object> = {
  'create-deployment': createDeployment,
  'delete-deployment': deleteDeployment,
  'stop-deployment': stopDeployment,
  'start-deployment': startDeployment,
  'images-create': createImages,
  'images-delete': deleteImages,
};

export const machinePath = (name: MachineName) =>
  fileURLToPath(new URL(`../../statemachines/${name}.asl.json`, import.meta.url));

export const renderMachine = (name: MachineName) => `${JSON.stringify(MACHINES[name](), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of Object.keys(MACHINES) as MachineName[]) {
    writeFileSync(machinePath(name), renderMachine(name));
    console.log(`wrote ${machinePath(name)}`);
  }
}
