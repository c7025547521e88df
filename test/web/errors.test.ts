import { apiErrorMessage, type ApiAction } from '../../web/src/pure/errors';

const ACTIONS: ApiAction[] = [
  'signUp',
  'signIn',
  'listCategories',
  'createCategory',
  'deleteCategory',
  'listActs',
  'countActs',
  'uploadAct',
  'upvoteAct',
  'deleteAct',
];

describe('API errors as sentences', () => {
  test('each refusal says what went wrong for that action', () => {
    expect(apiErrorMessage('signUp', 400)).toMatch(/^That username is taken/);
    expect(apiErrorMessage('signIn', 401)).toBe('The username or password is wrong.');
    expect(apiErrorMessage('createCategory', 400)).toMatch(/already exists/);
    expect(apiErrorMessage('upvoteAct', 400)).toBe('That act no longer exists.');
    expect(apiErrorMessage('uploadAct', 413)).toMatch(/photo is too large/);
    expect(apiErrorMessage('listActs', 413)).toMatch(/too many acts/);
  });

  test('an unreachable server and a busy one are told apart', () => {
    expect(apiErrorMessage('uploadAct', 0)).toMatch(/could not be reached, so we could not upload your act/);
    expect(apiErrorMessage('upvoteAct', 503)).toMatch(
      /busy or restarting, so we could not record your upvote/,
    );
  });

  test.each(ACTIONS)('%s: every status gives a sentence with no status code in it', (action) => {
    for (const status of [0, 400, 401, 404, 405, 413, 429, 500, 502, 503, 504, 418]) {
      const message = apiErrorMessage(action, status);
      expect(message).toMatch(/^[A-Z].*[.!]$/);
      expect(message).not.toMatch(/\d{3}/);
    }
  });
});
