/** Who is signed in on this browser. The API has no tokens: the page remembers the username. */

const KEY = 'selfieless.username';

export function signedInUser(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function rememberUser(username: string): void {
  try {
    localStorage.setItem(KEY, username);
  } catch {
    // Private modes may refuse storage; the session then lasts until the page is closed.
  }
}

export function forgetUser(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Nothing stored, nothing to forget.
  }
}
