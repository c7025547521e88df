/** Sharing an act: pick or drop a photo, see it and its size, write a caption, choose a category. */
import * as api from '../api';
import { h, replaceChildren, showMessage } from '../dom';
import { newActId } from '../pure/act-id';
import {
  decodeBase64Prefix,
  formatBytes,
  largestImageBytes,
  sniffImageMime,
  uploadBodyBytes,
  type ActFields,
} from '../pure/image';
import { formatApiTimestamp } from '../pure/timestamp';
import { captionProblem } from '../pure/validation';

/** What the server accepts at least (the API guarantees 20 MB; "MB" as body parsers count it). */
export const BODY_LIMIT_BYTES = 20 * 1024 * 1024;

export interface UploadFormOptions {
  user: string;
  categories: string[];
  selected: string | null;
  onUploaded: (categoryName: string) => void;
}

interface ChosenPhoto {
  name: string;
  size: number;
  base64: string;
}

const ACCEPTED = 'image/png,image/jpeg,image/gif,image/webp';

export function uploadForm(options: UploadFormOptions): HTMLElement {
  const fileInput = h('input', {
    id: 'upload-photo',
    type: 'file',
    accept: ACCEPTED,
    className: 'visually-hidden',
  });
  const preview = h('div', { className: 'preview', attrs: { 'aria-live': 'polite' } });
  const dropZone = h(
    'label',
    { htmlFor: fileInput.id, className: 'drop-zone' },
    h('span', { className: 'drop-title' }, 'Photo'),
    h('span', { className: 'drop-hint' }, 'Choose a PNG, JPEG, GIF or WebP file, or drop it here'),
  );
  const caption = h('input', { id: 'upload-caption', name: 'caption', maxLength: 500, autocomplete: 'off' });
  const category = h(
    'select',
    { id: 'upload-category', name: 'category' },
    ...options.categories.map((name) =>
      h('option', { value: name, selected: name === options.selected }, name),
    ),
  );
  const error = h('p', { className: 'message', hidden: true, attrs: { role: 'alert' } });
  const submit = h('button', { type: 'submit', className: 'primary' }, 'Share act');

  let photo: ChosenPhoto | null = null;
  let reading = 0;

  const fieldsFor = (actId = Number.MAX_SAFE_INTEGER, timestamp = '00-00-0000:00-00-00'): ActFields => ({
    actId,
    username: options.user,
    timestamp,
    caption: caption.value,
    categoryName: category.value,
  });

  /** Why this photo cannot be sent, checked against the exact size of the JSON body. */
  const sizeProblem = (size: number): string | null => {
    const largest = largestImageBytes(fieldsFor(), BODY_LIMIT_BYTES);
    return size > largest
      ? `The photo is ${formatBytes(size)}, larger than the ${formatBytes(largest)} that can be shared. Please choose a smaller one.`
      : null;
  };

  const choose = async (file: File): Promise<void> => {
    const ticket = ++reading;
    photo = null;
    showMessage(error, '');
    replaceChildren(
      preview,
      h('p', { className: 'preview-info' }, `${file.name} · ${formatBytes(file.size)}`),
    );
    const tooLarge = sizeProblem(file.size);
    if (tooLarge) {
      showMessage(error, tooLarge);
      return;
    }
    let base64: string;
    try {
      base64 = await readAsBase64(file);
    } catch {
      if (ticket === reading) showMessage(error, 'The photo could not be read. Please choose it again.');
      return;
    }
    if (ticket !== reading) return;
    const mime = sniffImageMime(decodeBase64Prefix(base64, 12) ?? new Uint8Array());
    if (!mime) {
      showMessage(error, 'This file is not a PNG, JPEG, GIF or WebP image.');
      return;
    }
    photo = { name: file.name, size: file.size, base64 };
    replaceChildren(
      preview,
      h('img', {
        src: `data:${mime};base64,${base64}`,
        alt: 'Preview of the chosen photo',
        className: 'preview-image',
      }),
      h('p', { className: 'preview-info' }, `${file.name} · ${formatBytes(file.size)}`),
    );
  };

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) void choose(file);
  });
  dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    dropZone.classList.add('dragging');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropZone.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file) void choose(file);
  });

  const form = h(
    'form',
    { className: 'upload-form', noValidate: true, attrs: { 'aria-labelledby': 'upload-heading' } },
    h('h2', { id: 'upload-heading' }, 'Share an act'),
    fileInput,
    dropZone,
    preview,
    h('div', { className: 'field' }, h('label', { htmlFor: caption.id }, 'Caption'), caption),
    h('div', { className: 'field' }, h('label', { htmlFor: category.id }, 'Category'), category),
    error,
    h('div', { className: 'actions' }, submit),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const problem = !photo
      ? 'Please choose a photo first.'
      : (captionProblem(caption.value) ??
        (category.value ? null : 'Please choose a category.') ??
        sizeProblem(photo.size));
    if (problem || !photo) {
      showMessage(error, problem ?? '');
      (photo ? caption : fileInput).focus();
      return;
    }
    const fields = fieldsFor(newActId(), formatApiTimestamp(new Date()));
    const body = JSON.stringify({ ...fields, imgB64: photo.base64 });
    if (uploadBodyBytes(fields, photo.size) > BODY_LIMIT_BYTES) {
      showMessage(error, sizeProblem(photo.size) ?? 'The photo is too large to share.');
      return;
    }
    showMessage(error, 'Uploading…', 'info');
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await api.uploadAct(body);
      options.onUploaded(fields.categoryName);
    } catch (failure) {
      showMessage(error, api.describeError(failure));
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

/** The file's bytes as standard base64, without holding a second copy as a JS string of bytes. */
function readAsBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error('unreadable file'));
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.readAsDataURL(file);
  });
}
