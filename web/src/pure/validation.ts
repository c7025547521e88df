/** Checks the page makes before sending, so the API's 400s keep a single meaning per action. */

/** Why a username cannot be used, or null when it is fine. */
export function usernameProblem(username: string): string | null {
  if (username.length === 0) return 'Please enter a username.';
  if (username !== username.trim()) return 'A username cannot start or end with a space.';
  if (username.length > 100) return 'A username can be at most 100 characters long.';
  return null;
}

export function passwordProblem(password: string): string | null {
  return password.length === 0 ? 'Please enter a password.' : null;
}

export function categoryNameProblem(name: string): string | null {
  if (name.trim().length === 0) return 'Please enter a category name.';
  if (name.includes('/')) return 'A category name cannot contain “/”.';
  if (name !== name.trim()) return 'A category name cannot start or end with a space.';
  if (name.length > 100) return 'A category name can be at most 100 characters long.';
  return null;
}

export function captionProblem(caption: string): string | null {
  if (caption.trim().length === 0) return 'Please write a caption.';
  if (caption.length > 500) return 'A caption can be at most 500 characters long.';
  return null;
}
