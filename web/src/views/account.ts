/** Signing up, signing in and out. The password leaves the browser only as its SHA-1 digest. */
import * as api from '../api';
import { h, showMessage } from '../dom';
import { routeHash } from '../pure/route';
import { sha1Hex } from '../pure/sha1';
import { passwordProblem, usernameProblem } from '../pure/validation';

export function accountForm(onSignedIn: (username: string) => void): HTMLElement {
  const username = h('input', {
    id: 'account-username',
    name: 'username',
    autocomplete: 'username',
    required: true,
    attrs: { autocapitalize: 'none', spellcheck: 'false' },
  });
  const password = h('input', {
    id: 'account-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { className: 'message', hidden: true, attrs: { role: 'alert' } });
  const signInButton = h('button', { type: 'submit', className: 'primary', value: 'signIn' }, 'Sign in');
  const signUpButton = h('button', { type: 'submit', value: 'signUp' }, 'Create account');

  const form = h(
    'form',
    { className: 'account-form', noValidate: true, attrs: { 'aria-labelledby': 'account-heading' } },
    h('h2', { id: 'account-heading' }, 'Sign in or create an account'),
    h('div', { className: 'field' }, h('label', { htmlFor: username.id }, 'Username'), username),
    h('div', { className: 'field' }, h('label', { htmlFor: password.id }, 'Password'), password),
    error,
    h('div', { className: 'actions' }, signInButton, signUpButton),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const creating = (event.submitter as HTMLButtonElement | null)?.value === 'signUp';
    const name = username.value;
    const problem = usernameProblem(name) ?? passwordProblem(password.value);
    if (problem) {
      showMessage(error, problem);
      (usernameProblem(name) ? username : password).focus();
      return;
    }
    showMessage(error, '');
    signInButton.disabled = signUpButton.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const digest = await sha1Hex(password.value);
      if (creating) await api.signUp(name, digest);
      await api.signIn(name, digest);
      password.value = '';
      onSignedIn(name);
    } catch (failure) {
      showMessage(error, api.describeError(failure));
    } finally {
      signInButton.disabled = signUpButton.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

/** The header's part: who is signed in and a way out, or a link to sign in. */
export function accountBar(user: string | null, onSignOut: () => void): HTMLElement {
  if (!user)
    return h(
      'div',
      { className: 'account-bar' },
      h('a', { href: '#/sign-in', className: 'link-button' }, 'Sign in'),
    );
  const signOut = h('button', { type: 'button', className: 'quiet' }, 'Sign out');
  signOut.addEventListener('click', onSignOut);
  return h(
    'div',
    { className: 'account-bar' },
    h('span', { className: 'who' }, 'Signed in as ', h('strong', {}, user)),
    h('a', { href: routeHash({ kind: 'user', name: user, page: 1 }), className: 'link-button' }, 'My acts'),
    signOut,
  );
}
