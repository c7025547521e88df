/** `npm run images`: rebuilds users:latest and acts:latest on the local Docker engine. */
import { ensureImages } from './image-builder';

ensureImages({ force: true, log: (line) => console.log(line) }).then(
  () => console.log('images ready: users:latest, acts:latest'),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
