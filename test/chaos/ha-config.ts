/**
 * The `ha:` block of an `exas run` config for one of a shard's instances sharing an etcd lease: the chaos HA
 * profile (test/chaos/ha.ts), the HA benchmark (bench/ha.bench.ts) and the failover e2e test start two such
 * instances, and all build
 * the block here so they test the same config shape (docs/config.md, `ha:`).
 */

export interface EtcdHaConfig {
  /** `ha.identity`: also the instance's name in GC's request log (User-Agent). */
  readonly identity: string;
  /** `ha.lease.name`: the same for every instance of the shard. */
  readonly leaseName: string;
  readonly durationSeconds: number;
  readonly renewSeconds: number;
  /** etcd client URL (a real etcd, or a proxy in front of it). */
  readonly endpoint: string;
}

/** YAML lines for `writeExasConfig`'s `extraYaml`. */
export function etcdHaYaml(config: EtcdHaConfig): string[] {
  return [
    'ha:',
    `  identity: ${config.identity}`,
    '  lease:',
    '    backend: etcd',
    `    name: ${config.leaseName}`,
    `    durationSeconds: ${config.durationSeconds}`,
    `    renewSeconds: ${config.renewSeconds}`,
    '    etcd:',
    `      endpoints: ["${config.endpoint}"]`,
  ];
}
