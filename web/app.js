// The page of `trashcl serve`: send one photo to the API and show its class, bin, confidences and the most
// similar gallery photos. Plain browser JavaScript, no build step: the server embeds this file as it is.
'use strict';

const BIN_NAMES = {
  recyclable: 'Recyclable',
  kitchen: 'Kitchen / organic',
  hazardous: 'Hazardous',
  other: 'Other waste',
};

const $ = (id) => document.getElementById(id);
let previewUrl = null;

// What the server offers decides the endpoint: /v1/similar when it has a gallery, else /v1/classify.
const modelReady = fetch('/v1/model')
  .then((response) => response.json())
  .then((model) => {
    const gallery = model.gallery && model.gallery.loaded && model.hash_bits > 0;
    $('model-info').textContent = `${model.classes.length} classes (${model.classes.join(', ')})` +
      (gallery ? ` - gallery of ${model.gallery.size} photos` : '');
    return { gallery, bins: model.bins, classes: model.classes };
  })
  .catch(() => {
    $('model-info').textContent = 'The model information could not be loaded.';
    return { gallery: false, bins: [], classes: [] };
  });

function setStatus(text) { $('status').textContent = text; }

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = false;
}

function showPreview(file) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  $('preview').src = previewUrl;
}

function binOf(name, model) {
  const index = model.classes.indexOf(name);
  return index >= 0 ? model.bins[index] : 'other';
}

function showBars(top, model) {
  const list = $('bars');
  list.replaceChildren();
  for (const entry of top) {
    const item = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = entry.class;
    const track = document.createElement('span');
    track.className = 'track';
    const fill = document.createElement('span');
    fill.className = `fill bin-${binOf(entry.class, model)}`;
    fill.style.display = 'block';
    fill.style.width = `${(entry.prob * 100).toFixed(1)}%`;
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'value';
    value.textContent = `${(entry.prob * 100).toFixed(1)}%`;
    item.append(name, track, value);
    list.append(item);
  }
}

function showSimilar(similar) {
  const list = $('similar');
  list.replaceChildren();
  for (const match of similar || []) {
    const item = document.createElement('li');
    const figure = document.createElement('figure');
    const image = document.createElement('img');
    image.src = match.url;
    image.alt = match.label || match.path;
    image.loading = 'lazy';
    // Without --data the server cannot find the gallery's files: keep the caption, drop the broken image.
    image.onerror = () => {
      const missing = document.createElement('div');
      missing.className = 'missing';
      image.replaceWith(missing);
    };
    const caption = document.createElement('figcaption');
    caption.textContent = `${match.label || '?'} - distance ${match.distance}`;
    caption.title = match.path;
    figure.append(image, caption);
    item.append(figure);
    list.append(item);
  }
  $('similar-section').hidden = !similar || similar.length === 0;
}

function showResult(body, model) {
  const best = body.top[0];
  $('result-class').textContent = best.class;
  const bin = $('result-bin');
  bin.textContent = BIN_NAMES[body.bin] || body.bin;
  bin.className = `bin bin-${body.bin}`;
  bin.dataset.bin = body.bin;
  $('result-prob').textContent = `${(best.prob * 100).toFixed(1)}% sure`;
  showBars(body.top, model);
  showSimilar(body.similar);
  $('result').hidden = false;
}

async function classify(file) {
  if (!file) return;
  $('error').hidden = true;
  $('result-class').textContent = '';
  showPreview(file);
  setStatus('Classifying...');
  const model = await modelReady;
  const form = new FormData();
  form.append('image', file, file.name || 'photo.jpg');
  const top = Math.min(5, Math.max(1, model.classes.length));
  const endpoint = model.gallery ? `/v1/similar?k=8&top_k=${top}` : `/v1/classify?top_k=${top}`;
  try {
    const response = await fetch(endpoint, { method: 'POST', body: form });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    showResult(body, model);
    setStatus(`Answered in ${Math.round(body.latency_ms)} ms.`);
  } catch (error) {
    setStatus('');
    $('result').hidden = true;
    $('similar-section').hidden = true;
    showError(error.message);
  }
}

for (const id of ['file', 'camera']) {
  const input = $(id);
  input.addEventListener('change', () => {
    classify(input.files[0]);
    input.value = '';  // choosing the same photo again must fire 'change' again
  });
}

const drop = $('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('dragging');
});
drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('dragging');
  classify(event.dataTransfer.files[0]);
});
document.addEventListener('paste', (event) => classify(event.clipboardData.files[0]));
