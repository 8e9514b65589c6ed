// `npm run dev`: the command line run from source by tsx (bin/ssechat.js runs the build).
import { main } from './main.js';

await main(process.argv.slice(2), process.env);
