/**
 * Which cluster sees the client's credentials (upstream-spec-notes 3.5.1, upstream `forwardAuthToTarget`) and the
 * credential replacement applied to the client's AUTH_RESPONSE tokens.
 *
 * | ORIGIN auth | TARGET auth | forward_client_credentials_to_origin | auth-primary | client creds are | token to auth-primary | secondary handshake uses |
 * |---|---|---|---|---|---|---|
 * | yes | yes | false | ORIGIN | TARGET's | configured origin creds (replaced) | the client's creds (to TARGET) |
 * | yes | yes | true  | ORIGIN | ORIGIN's | unchanged | configured target creds |
 * | no  | yes | any   | TARGET | TARGET's | unchanged | configured origin creds |
 * | yes | no  | any   | ORIGIN | ORIGIN's | unchanged | configured target creds |
 * | no  | no  | any   | ORIGIN | -        | -         | -                        |
 */
import { buildPlainToken, isMechanismSelectionToken, parsePlainToken, type Credentials } from '../backend/authenticator';
import type { ClusterName } from '../cluster';

export interface AuthPlan {
  /** the cluster that gets the client's STARTUP reply and AUTH_RESPONSEs */
  authPrimary: ClusterName;
  secondary: ClusterName;
  /** whose credentials the client presents */
  clientCredsAre: ClusterName;
  /** replace the credentials of the client's tokens with `primaryCredentials` before sending to the auth-primary */
  replaceClientToken: boolean;
  primaryCredentials?: Credentials;
  /** credentials of the secondary handshake; 'client' = the ones parsed from the client's token */
  secondaryCredentials: Credentials | 'client';
}

export function planAuth(
  originAuth: boolean,
  targetAuth: boolean,
  forwardClientCredentialsToOrigin: boolean,
  configured: { origin: Credentials; target: Credentials },
): AuthPlan {
  if (originAuth && targetAuth) {
    if (forwardClientCredentialsToOrigin) {
      return {
        authPrimary: 'ORIGIN',
        secondary: 'TARGET',
        clientCredsAre: 'ORIGIN',
        replaceClientToken: false,
        secondaryCredentials: configured.target,
      };
    }
    return {
      authPrimary: 'ORIGIN',
      secondary: 'TARGET',
      clientCredsAre: 'TARGET',
      replaceClientToken: true,
      primaryCredentials: configured.origin,
      secondaryCredentials: 'client',
    };
  }
  if (!originAuth && targetAuth) {
    return {
      authPrimary: 'TARGET',
      secondary: 'ORIGIN',
      clientCredsAre: 'TARGET',
      replaceClientToken: false,
      secondaryCredentials: configured.origin,
    };
  }
  if (originAuth && !targetAuth) {
    return {
      authPrimary: 'ORIGIN',
      secondary: 'TARGET',
      clientCredsAre: 'ORIGIN',
      replaceClientToken: false,
      secondaryCredentials: configured.target,
    };
  }
  return {
    authPrimary: 'ORIGIN',
    secondary: 'TARGET',
    clientCredsAre: 'TARGET',
    replaceClientToken: false,
    secondaryCredentials: configured.target,
  };
}

export class InvalidAuthTokenError extends Error {
  override readonly name = 'InvalidAuthTokenError';
}

/**
 * Apply the plan to one client AUTH_RESPONSE token. Returns the token to send to the auth-primary and,
 * when the token carried credentials, those credentials (kept for the secondary handshake).
 * Null tokens and the DSE mechanism selection `PLAIN` pass through unchanged.
 */
export function relayToken(token: Buffer | null, plan: AuthPlan): { token: Buffer | null; clientCredentials?: Credentials } {
  if (isMechanismSelectionToken(token)) return { token };
  const parsed = parsePlainToken(token!);
  if (!plan.replaceClientToken) {
    return { token, clientCredentials: parsed ? { username: parsed.username, password: parsed.password } : undefined };
  }
  if (!parsed) {
    throw new InvalidAuthTokenError('the client AUTH_RESPONSE token is not a SASL PLAIN token (authzid\\0username\\0password)');
  }
  const c = plan.primaryCredentials!;
  return {
    token: buildPlainToken(c.username, c.password, parsed.authzid),
    clientCredentials: { username: parsed.username, password: parsed.password },
  };
}
