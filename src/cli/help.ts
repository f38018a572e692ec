/**
 * `--help` texts of the commands whose options live in other modules (emulators, demo, run): usage, what the
 * command does, and examples to copy. `exas <command> --help` prints them on stdout and exits 0.
 */

export const DRY_RUN_HELP = `usage: exas dry-run [--rules FILE] [INPUT|-]

Applies a JSON list of Engage events to the rules and prints, as JSON on stdout, what EXAS would set in
Genesys Cloud after each event (presence, routing status, the rule that decided). INPUT is a file, or - or
nothing for stdin: {"events":[{"agentId","state","callType","reason"}, …]} (callType defaults to None,
reason to none).
Invalid input exits 2; a rules file with errors exits 1 with its diagnostics.

options:
  --rules FILE   the rules file (default ./exas.rules.yaml)
  -h, --help     this help

examples:
  exas dry-run --rules rules/aliases.yaml events.json
  echo '{"events":[{"agentId":"1001","state":"NotReady","reason":"Break"}]}' | exas dry-run
`;

export const EXPLAIN_HELP = `usage: exas explain --state S [--call-type C] [--reason R] [--rules FILE]

Explains the decision for one input: every rule considered in order, why it did or did not match, and the
presence and routing status that result.

options:
  --state S       LoggedOff, NotReady, Ready or AfterCallWork (required)
  --call-type C   None (default), Internal, Inbound, Outbound, Consult or Unknown
  --reason R      the Engage reason code (default: none)
  --rules FILE    the rules file (default ./exas.rules.yaml)
  -h, --help      this help

examples:
  exas explain --state NotReady --reason Break
  exas explain --state Ready --call-type Internal
`;

export const RUN_HELP = `usage: exas run --config FILE [--check]

Runs the sync sidecar: loads and validates the config (errors as FILE:LINE:COLUMN with the source line, exit
2), starts the operator HTTP server and syncs until SIGTERM / SIGINT (flushes within the grace period, saves
the store, exits 0). SIGHUP reloads the rules and re-reads rotated secrets. Settings: docs/config.md.

options:
  -c, --config FILE   the config file (required)
  --check             validate the config and exit (0 when valid)
  -h, --help          this help

examples:
  exas run --config exas.config.example.yaml --check
  EXAS_GC_CLIENT_ID=… EXAS_GC_CLIENT_SECRET_FILE=/run/secrets/gc exas run --config /etc/exas/config.yaml
`;

export const DEMO_EXAMPLES = `
The Stat Server emulator, the GC emulator and the sidecar in one process on 127.0.0.1, with a simulated crowd
and the default rules; prints the URLs and a machine-readable "EXAS demo ready: …" line, runs until Ctrl-C.
More in docs/demo.md.

examples:
  exas demo                                  # status page on http://127.0.0.1:8080/
  exas demo --port 0 --agents 50             # a free port; read it from the ready line
  exas demo --events-per-second 20 --budget 120
`;

export const EMULATE_HELP = `usage: exas emulate <gc|statserver> [options]

Runs one emulator as a standalone server on 127.0.0.1 until Ctrl-C and prints its URL. "exas emulate gc
--help" and "exas emulate statserver --help" list each one's options.

  gc          Genesys Cloud: OAuth client credentials, presence and routing status, bulk endpoints,
              notifications, a real requests-per-minute budget with 429 and Retry-After
  statserver  Stat Server / Statistics API v3 over HTTP and CometD, with a simulated crowd of agents

examples:
  exas emulate gc --port 9001 --budget 300 --users-count 500
  exas emulate statserver --port 9002 --agents 500 --events-per-second 5
`;

export const MAIN_HELP_EXAMPLES = `
examples:
  exas demo                                  # try it: emulators + sidecar, status page on :8080
  exas check                                 # lint ./exas.rules.yaml
  exas test --run break                      # run the rules file's tests whose name matches 'break'
  exas explain --state NotReady --reason Break
  exas run --config exas.config.example.yaml --check

"exas <command> --help" shows a command's options and examples. Docs: README.md, docs/.
`;
