/**
 * Genesys Cloud regions and their hosts (from the official SDK's `PureCloudRegionHosts.js`): the login host
 * is `login.<suffix>`, the API host `api.<suffix>`, the notification host `streaming.<suffix>`.
 */

/** Region name → host suffix. */
export const REGION_HOSTS: Readonly<Record<string, string>> = {
  us_east_1: 'mypurecloud.com',
  eu_west_1: 'mypurecloud.ie',
  ap_southeast_2: 'mypurecloud.com.au',
  ap_northeast_1: 'mypurecloud.jp',
  eu_central_1: 'mypurecloud.de',
  us_west_2: 'usw2.pure.cloud',
  ca_central_1: 'cac1.pure.cloud',
  ap_northeast_2: 'apne2.pure.cloud',
  eu_west_2: 'euw2.pure.cloud',
  ap_south_1: 'aps1.pure.cloud',
  us_east_2: 'use2.us-gov-pure.cloud',
  sa_east_1: 'sae1.pure.cloud',
  me_central_1: 'mec1.pure.cloud',
  ap_northeast_3: 'apne3.pure.cloud',
  eu_central_2: 'euc2.pure.cloud',
  mx_central_1: 'mxc1.pure.cloud',
  ap_southeast_1: 'apse1.pure.cloud',
  eusc_de_east_1: 'edee1.eusc-pure.cloud',
};

export interface GcEndpoints {
  /** e.g. `https://api.mypurecloud.com` */
  readonly apiBaseUrl: string;
  /** e.g. `https://login.mypurecloud.com` */
  readonly loginBaseUrl: string;
}

/**
 * Resolves where to send calls. `region` is a host suffix (`usw2.pure.cloud`) or a region name
 * (`us_west_2`). Explicit `baseUrl` / `loginUrl` win (an emulator serves both on one URL, so `loginUrl`
 * defaults to `baseUrl`).
 */
export function resolveEndpoints(options: { region?: string; baseUrl?: string; loginUrl?: string }): GcEndpoints {
  const trim = (url: string): string => url.replace(/\/+$/, '');
  if (options.baseUrl !== undefined) {
    const apiBaseUrl = trim(options.baseUrl);
    return { apiBaseUrl, loginBaseUrl: trim(options.loginUrl ?? apiBaseUrl) };
  }
  const region = options.region ?? 'mypurecloud.com';
  const suffix = REGION_HOSTS[region.toLowerCase().replace(/-/g, '_')] ?? region;
  if (!/^[a-z0-9.-]+\.[a-z]+$/i.test(suffix)) {
    throw new Error(`region: '${region}' is neither a known region name nor a host suffix like usw2.pure.cloud`);
  }
  return {
    apiBaseUrl: `https://api.${suffix}`,
    loginBaseUrl: trim(options.loginUrl ?? `https://login.${suffix}`),
  };
}
