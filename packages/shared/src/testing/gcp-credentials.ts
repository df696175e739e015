/** GCP credentials JSON for tests: a real service-account key, and the variants that must be refused. */
import { generateKeyPairSync } from 'node:crypto';

/** In every secret of the refused variants: no error message may contain it. */
export const GCP_CANARY = 'CANARY-GCP-SECRET';

/** A service-account key with a fresh RSA key (enough to sign URLs locally), plus `extra` fields. */
export function serviceAccountJson(extra: Record<string, unknown> = {}): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return JSON.stringify({
    type: 'service_account',
    project_id: 'egress-test',
    client_email: 'egress@egress-test.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ...extra,
  });
}

export interface RefusedCredentials {
  name: string;
  json: string;
  /** The field the refusal names, after the credentials field itself (`.type`, `.private_key`, or ''). */
  leaf: string;
}

/**
 * Credentials a request may not use. `url` is where they would send a token request (a loopback test server),
 * `file` what they would read.
 */
export function refusedGcpCredentials(url: string, file: string): RefusedCredentials[] {
  const sa = JSON.parse(serviceAccountJson()) as Record<string, unknown>;
  const j = (o: unknown) => JSON.stringify(o);
  return [
    {
      name: 'external_account reading a file and posting it to a chosen URL',
      leaf: '.type',
      json: j({
        type: 'external_account',
        audience: `//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/${GCP_CANARY}`,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: url,
        service_account_impersonation_url: url,
        credential_source: { file, format: { type: 'text' } },
      }),
    },
    {
      name: 'authorized_user',
      leaf: '.type',
      json: j({
        type: 'authorized_user',
        client_id: 'id',
        client_secret: GCP_CANARY,
        refresh_token: GCP_CANARY,
        token_uri: url,
      }),
    },
    {
      name: 'impersonated_service_account',
      leaf: '.type',
      json: j({
        type: 'impersonated_service_account',
        service_account_impersonation_url: url,
        source_credentials: { type: 'authorized_user', client_secret: GCP_CANARY, refresh_token: GCP_CANARY },
      }),
    },
    {
      name: 'external_account_authorized_user',
      leaf: '.type',
      json: j({ type: 'external_account_authorized_user', token_url: url, refresh_token: GCP_CANARY }),
    },
    { name: 'a key without a type', leaf: '.type', json: j({ ...sa, type: undefined }) },
    { name: 'a type that is itself a secret', leaf: '.type', json: j({ ...sa, type: GCP_CANARY }) },
    { name: 'service_account without private_key', leaf: '.private_key', json: j({ ...sa, private_key: undefined }) },
    {
      name: 'service_account without client_email',
      leaf: '.client_email',
      json: j({ ...sa, client_email: undefined, private_key_id: GCP_CANARY }),
    },
    {
      name: 'service_account whose private_key is not a key',
      leaf: '.private_key',
      json: j({ ...sa, private_key: `-----BEGIN PRIVATE KEY-----\n${GCP_CANARY}\n-----END PRIVATE KEY-----\n` }),
    },
    { name: 'text that is not JSON', leaf: '', json: `{"private_key": "${GCP_CANARY}` },
    { name: 'a JSON array', leaf: '', json: j([GCP_CANARY]) },
  ];
}
