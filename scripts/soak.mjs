// `npm run soak -- [--minutes N] [--agents N] [--seed N]`: the 10-minute soak (test/chaos/soak.ts), built and run like the chaos suite.
import './chaos.mjs';
