/** Turns what the API answered into a sentence a person can act on. Status 0 means no answer at all. */

export type ApiAction =
  | 'signUp'
  | 'signIn'
  | 'listCategories'
  | 'createCategory'
  | 'deleteCategory'
  | 'listActs'
  | 'countActs'
  | 'uploadAct'
  | 'upvoteAct'
  | 'deleteAct';

/** Sentences for the 400 (and 401) answers, which mean something different for each action. */
const REFUSED: Record<ApiAction, string> = {
  signUp: 'That username is taken. Please choose another one.',
  signIn: 'The username or password is wrong.',
  listCategories: 'The categories could not be loaded.',
  createCategory: 'A category with that name already exists.',
  deleteCategory: 'That category no longer exists.',
  listActs: 'That category no longer exists.',
  countActs: 'That category no longer exists.',
  uploadAct:
    'The act was not accepted. Its category may have been deleted, or your account may no longer exist.',
  upvoteAct: 'That act no longer exists.',
  deleteAct: 'That act was already deleted.',
};

const WHAT: Record<ApiAction, string> = {
  signUp: 'create your account',
  signIn: 'sign you in',
  listCategories: 'load the categories',
  createCategory: 'create the category',
  deleteCategory: 'delete the category',
  listActs: 'load the acts',
  countActs: 'count the acts',
  uploadAct: 'upload your act',
  upvoteAct: 'record your upvote',
  deleteAct: 'delete the act',
};

export function apiErrorMessage(action: ApiAction, status: number): string {
  if (status === 0)
    return `The server could not be reached, so we could not ${WHAT[action]}. Check your connection and try again.`;
  if (status === 400 || (status === 401 && action === 'signIn')) return REFUSED[action];
  if (status === 413) {
    return action === 'uploadAct'
      ? 'The photo is too large for the server. Please choose a smaller one.'
      : 'That page holds too many acts to show at once.';
  }
  if (status === 429 || status >= 500) {
    return `The service is busy or restarting, so we could not ${WHAT[action]}. Please try again in a moment.`;
  }
  return `Something went wrong, so we could not ${WHAT[action]}. Please try again.`;
}
