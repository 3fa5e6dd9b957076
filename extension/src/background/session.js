/**
 * Signing in and out. Sign-in is the backend's hand-off (backend/mailbeacon/web/auth.py): open
 * BASE/auth/google/start in chrome.identity.launchWebAuthFlow with a PKCE challenge and a random state; Google
 * and the backend's callback end at https://<extension id>.chromiumapp.org/signed-in?code=…&state=…, which
 * Chrome hands back to us; then the code and the verifier buy an API token at POST BASE/auth/token.
 */

import { normalizeBackendUrl } from '../lib/backend-url.js';
import { pkcePair, randomToken } from '../lib/pkce.js';
import { ApiError, api } from './api.js';
import * as store from './store.js';

export const REDIRECT_PATH = 'signed-in';

export async function startUrl(base, { state, challenge, redirectUri }) {
  const query = new URLSearchParams({
    redirect_uri: redirectUri, state, code_challenge: challenge, code_challenge_method: 'S256',
  });
  return `${base}/auth/google/start?${query}`;
}

/** Runs the whole sign-in; resolves to the signed-in user ({email, name}). */
export async function signIn() {
  const { backendUrl } = await store.read();
  const { verifier, challenge } = await pkcePair();
  const state = randomToken(24);
  const redirectUri = chrome.identity.getRedirectURL(REDIRECT_PATH);
  let landed;
  try {
    landed = await chrome.identity.launchWebAuthFlow({
      url: await startUrl(backendUrl, { state, challenge, redirectUri }), interactive: true,
    });
  } catch (error) {
    throw new ApiError(0, 'sign_in_cancelled', String(error?.message ?? error));
  }
  const back = new URL(landed);
  if (back.searchParams.get('state') !== state) throw new ApiError(0, 'sign_in_failed', 'state mismatch');
  const problem = back.searchParams.get('error');
  if (problem) throw new ApiError(0, 'sign_in_failed', back.searchParams.get('error_description') || problem);
  const code = back.searchParams.get('code');
  if (!code) throw new ApiError(0, 'sign_in_failed', 'no code');
  const token = await api('/auth/token', {
    method: 'POST', auth: false, body: { code, code_verifier: verifier, redirect_uri: redirectUri, name: 'Chrome' },
  });
  await store.write({
    session: { token: token.access_token, tokenId: token.token_id, expiresAt: token.expires_at, user: token.user },
  });
  return token.user;
}

/** Revoke our token on the backend (best effort) and forget the account here. */
export async function signOut() {
  const { session } = await store.read();
  if (session?.tokenId != null) {
    try {
      await api(`/api/v1/tokens/${encodeURIComponent(session.tokenId)}`, { method: 'DELETE' });
    } catch {
      // Already invalid, or the backend is unreachable: the local copy goes either way.
    }
  }
  await store.forgetAccount();
}

/** Change the backend (self-hosting). A token from one backend means nothing to another: sign out first. */
export async function setBackendUrl(input) {
  const base = normalizeBackendUrl(input);
  const { backendUrl } = await store.read();
  if (base !== backendUrl) {
    await signOut();
    await store.write({ backendUrl: base });
  }
  return base;
}

/** Refresh who we are and the account settings (composer defaults, notification preferences). */
export async function refreshProfile() {
  // One after the other: the backend creates a user's settings row on first read, and two first reads at once
  // race to insert it (one of them then fails with a 500).
  const profile = await api('/api/v1/me');
  const settings = await api('/api/v1/settings');
  await store.write({ profile, settings });
  return { profile, settings };
}
