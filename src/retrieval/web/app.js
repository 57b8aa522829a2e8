// The retrieval page: pick a task, give a query (upload, drop, or a gallery image), see the top k with
// distances; switching task re-runs the query, which is the paper's demonstration. Queries are embedded in
// the browser with the exported TensorFlow.js model when it loads, on the server otherwise.

const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  task: null,
  /** { kind: 'file', file, url } or { kind: 'id', id, path } */
  query: null,
  galleryOffset: 0,
  /** Browser models by task: a promise of a tf.GraphModel (or of null when it cannot load). */
  models: new Map(),
  requestNumber: 0,
};

async function api(path, init) {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function showError(message) {
  const box = $('error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

/** tfjs from /vendor, on WebGL when the browser has it, else on its pure-JS backend. */
let tfReady;
function tensorflow() {
  tfReady ??= (async () => {
    const tf = window.tf;
    if (!tf) return null;
    const webgl = await tf.setBackend('webgl').catch(() => false);
    if (!webgl) await tf.setBackend('cpu');
    await tf.ready();
    return tf;
  })();
  return tfReady;
}

function browserModel(task) {
  if (!state.models.has(task)) {
    state.models.set(
      task,
      tensorflow()
        .then((tf) => (tf ? tf.loadGraphModel(`/models/${encodeURIComponent(task)}/model.json`) : null))
        .catch(() => null),
    );
  }
  return state.models.get(task);
}

async function updateBrowserModel() {
  const box = $('embed-in-browser');
  const note = $('browser-model');
  note.textContent = '(loading the model…)';
  const model = await browserModel(state.task);
  box.disabled = !model;
  if (model && !box.dataset.touched) box.checked = true;
  note.textContent = model ? `(${window.tf.getBackend()})` : '(unavailable: the server embeds)';
}

/** The query image as the model takes it: centre-cropped to its input size on white, RGB in 0–255. */
async function pixelsOf(file, [height, width]) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  const scale = Math.max(width / bitmap.width, height / bitmap.height);
  const sw = width / scale;
  const sh = height / scale;
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, (bitmap.width - sw) / 2, (bitmap.height - sh) / 2, sw, sh, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

async function embedInBrowser(file) {
  const model = await browserModel(state.task);
  if (!model) return null;
  const tf = window.tf;
  const [height, width] = state.info.inputShape;
  const pixels = await pixelsOf(file, state.info.inputShape);
  const output = tf.tidy(() => model.execute(tf.tensor4d(pixels, [1, height, width, 3])));
  const embedding = Array.from(await output.data());
  output.dispose();
  return embedding;
}

async function search() {
  if (!state.query || !state.task) return;
  const number = ++state.requestNumber;
  const k = Math.max(1, Math.min(Number($('k').value) || 12, state.info.maxK));
  const task = state.task;
  $('status').textContent = 'searching…';
  showError(null);
  try {
    let result;
    if (state.query.kind === 'id') {
      result = await api('/search', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task, k, id: state.query.id }),
      });
    } else {
      const embedding = $('embed-in-browser').checked ? await embedInBrowser(state.query.file) : null;
      if (embedding) {
        result = await api('/search', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ task, k, embedding }),
        });
      } else {
        const form = new FormData();
        form.append('task', task);
        form.append('k', String(k));
        form.append('image', state.query.file, state.query.file.name);
        result = await api('/search', { method: 'POST', body: form });
      }
    }
    if (number !== state.requestNumber) return;
    renderResults(result);
  } catch (error) {
    if (number !== state.requestNumber) return;
    $('status').textContent = '';
    showError(error.message);
  }
}

function card(item, caption) {
  const li = document.createElement('li');
  li.dataset.id = String(item.id);
  li.dataset.path = item.path;
  const img = document.createElement('img');
  img.src = item.thumbnail;
  img.alt = item.path;
  img.loading = 'lazy';
  img.title = `search with ${item.path}`;
  img.addEventListener('click', () =>
    setQuery({ kind: 'id', id: item.id, path: item.path, thumbnail: item.thumbnail }),
  );
  li.append(img);
  for (const [cls, text] of caption) {
    const div = document.createElement('div');
    div.className = cls;
    div.textContent = text;
    li.append(div);
  }
  return li;
}

function renderResults(result) {
  const list = $('results');
  list.replaceChildren(
    ...result.hits.map((hit) => {
      const li = card(hit, [
        ['rank', `#${hit.rank} · ${hit.distance.toFixed(4)}`],
        ['path', hit.path],
      ]);
      li.dataset.distance = String(hit.distance);
      if (state.query.kind === 'id' && hit.id === state.query.id) li.classList.add('query-match');
      return li;
    }),
  );
  const by = { server: 'embedded on the server', client: 'embedded in the browser', index: 'gallery vector' };
  $('status').textContent =
    `under ${result.task}: ${result.mode} search, ${result.tookMs} ms, ${by[result.embeddedBy]}`;
  document.body.dataset.lastTask = result.task;
  document.body.dataset.searches = String(Number(document.body.dataset.searches ?? 0) + 1);
}

function setQuery(query) {
  if (state.query?.url) URL.revokeObjectURL(state.query.url);
  state.query = query;
  const preview = $('query-preview');
  preview.src = query.kind === 'file' ? (query.url = URL.createObjectURL(query.file)) : query.thumbnail;
  preview.hidden = false;
  $('drop-text').textContent = query.kind === 'file' ? query.file.name : query.path;
  search();
}

function selectTask(name) {
  state.task = name;
  for (const button of $('tasks').children)
    button.setAttribute('aria-checked', String(button.dataset.task === name));
  updateBrowserModel();
  search();
}

async function loadGallery() {
  const page = await api(`/gallery?offset=${state.galleryOffset}&limit=60`);
  $('gallery').append(...page.items.map((item) => card(item, [['path', item.path]])));
  state.galleryOffset += page.items.length;
  $('gallery-count').textContent = `(${page.total} images)`;
  $('more').hidden = state.galleryOffset >= page.total;
}

function setUpDrop() {
  const drop = $('drop');
  $('query-file').addEventListener('change', (event) => {
    const file = event.target.files[0];
    if (file) setQuery({ kind: 'file', file });
  });
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) setQuery({ kind: 'file', file });
  });
  $('embed-in-browser').addEventListener('change', (event) => {
    event.target.dataset.touched = 'true';
    search();
  });
  $('k').addEventListener('change', search);
  $('more').addEventListener('click', loadGallery);
}

async function main() {
  setUpDrop();
  state.info = await api('/tasks');
  $('summary').textContent =
    `${state.info.files} gallery images · ${state.info.method} · embedding ${state.info.embeddingDim} · squared L2 distance of normalised embeddings`;
  $('tasks').replaceChildren(
    ...state.info.tasks.map((task) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.role = 'radio';
      button.dataset.task = task.name;
      button.textContent = task.name;
      button.title =
        task.search === 'hnsw' ? `HNSW, recall@10 ${task.recallAt10.toFixed(3)}` : 'exact search';
      button.addEventListener('click', () => selectTask(task.name));
      return button;
    }),
  );
  selectTask(state.info.tasks[0].name);
  await loadGallery();
  document.body.dataset.ready = 'true';
}

main().catch((error) => showError(error.message));
