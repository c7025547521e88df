/** The home page's list of categories with their act counts, and creating and deleting them. */
import * as api from '../api';
import { h, showMessage } from '../dom';
import { routeHash } from '../pure/route';
import { categoryNameProblem } from '../pure/validation';

export interface CategoriesViewOptions {
  categories: Array<{ name: string; count: number }>;
  loadError: string | null;
  canEdit: boolean;
  /** Reloads the page's data, then shows the note (a success) or the error. */
  onChanged: (outcome: { note?: string; error?: string }) => void;
}

const actsLabel = (count: number): string => (count === 1 ? '1 act' : `${count} acts`);

export function categoriesSection(options: CategoriesViewOptions): HTMLElement {
  const error = h('p', { className: 'message', hidden: true, attrs: { role: 'alert' } });
  if (options.loadError) showMessage(error, options.loadError);

  const list = options.categories.length
    ? h(
        'ul',
        { className: 'category-list' },
        ...options.categories.map((category) => categoryItem(category, options)),
      )
    : options.loadError
      ? null
      : h(
          'p',
          { className: 'empty' },
          'There are no categories yet.',
          options.canEdit ? ' Create the first one below.' : '',
        );

  return h(
    'section',
    { className: 'categories', attrs: { 'aria-labelledby': 'categories-heading' } },
    h('h1', { id: 'categories-heading', tabIndex: -1 }, 'Categories'),
    error,
    list,
    options.canEdit ? createCategoryForm(options.onChanged) : null,
  );
}

function categoryItem(
  category: { name: string; count: number },
  options: CategoriesViewOptions,
): HTMLElement {
  const link = h(
    'a',
    { href: routeHash({ kind: 'category', name: category.name, page: 1 }), className: 'category-link' },
    h('span', { className: 'category-name' }, category.name),
    h('span', { className: 'category-count' }, actsLabel(category.count)),
  );
  const item = h('li', { className: 'category-item' }, link);
  if (!options.canEdit) return item;

  const remove = h(
    'button',
    {
      type: 'button',
      className: 'danger quiet',
      attrs: { 'aria-label': `Delete category ${category.name}` },
    },
    'Delete',
  );
  remove.addEventListener('click', async () => {
    const also = category.count > 0 ? ` and its ${actsLabel(category.count)}` : '';
    if (!window.confirm(`Delete the category “${category.name}”${also}? This cannot be undone.`)) return;
    remove.disabled = true;
    try {
      await api.deleteCategory(category.name);
      options.onChanged({ note: `The category “${category.name}” was deleted.` });
    } catch (failure) {
      // Reloading also drops a category someone else deleted in the meantime.
      options.onChanged({ error: api.describeError(failure) });
    }
  });
  item.append(remove);
  return item;
}

function createCategoryForm(onChanged: CategoriesViewOptions['onChanged']): HTMLElement {
  const name = h('input', { id: 'new-category', name: 'category', autocomplete: 'off', maxLength: 100 });
  const error = h('p', { className: 'message', hidden: true, attrs: { role: 'alert' } });
  const submit = h('button', { type: 'submit', className: 'primary' }, 'Create');
  const form = h(
    'form',
    { className: 'inline-form', noValidate: true },
    h('label', { htmlFor: name.id }, 'New category'),
    h('div', { className: 'inline-row' }, name, submit),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const problem = categoryNameProblem(name.value);
    if (problem) {
      showMessage(error, problem);
      name.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api.createCategory(name.value);
      onChanged({ note: `The category “${name.value}” was created.` });
    } catch (failure) {
      showMessage(error, api.describeError(failure));
      name.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
