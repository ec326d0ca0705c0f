// Entry of the single binary: the same main() as bin/sfleet.js, without top-level await
// (the SEA script is CommonJS).
import { main } from '../../cli/main.js';

void main(process.argv).then((code) => {
  if (code !== 0) process.exit(code);
});
