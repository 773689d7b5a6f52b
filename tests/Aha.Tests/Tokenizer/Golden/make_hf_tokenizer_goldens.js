// Expected ids and decodings for HfTokenizerTests that Tokenizers.DotNet (the Rust oracle) cannot give: encoding with
// add_special_tokens=true and decoding with skip_special_tokens=false. Made by @lenml/tokenizers (a fork of
// transformers.js's tokenizers, an implementation independent of Aha), run once; CI only reads the output.
//   cd tests/fixtures/tokenizers && npm ci && cd - && node tests/Aha.Tests/Tokenizer/Golden/make_hf_tokenizer_goldens.js
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "../../../..");
const { TokenizerLoader } = require(path.join(root, "tests/fixtures/tokenizers/node_modules/@lenml/tokenizers"));
const corpus = fs.readFileSync(path.join(__dirname, "../Corpus/corpus.jsonl"), "utf8")
  .split("\n").filter(l => l.length > 0).map(l => JSON.parse(l));
for (const name of ["qwen3", "llama3", "llama3_1", "deepseek_v3", "llama2"]) {
  const dir = path.join(root, `tests/fixtures/tokenizers/node_modules/@lenml/tokenizer-${name}/models`);
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
  const lines = corpus.map(row => {
    const plain = tokenizer.encode(row.text, { add_special_tokens: false });
    const withSpecial = tokenizer.encode(row.text, { add_special_tokens: true });
    return JSON.stringify({
      name: row.name,
      ids: plain,
      ids_with_special_tokens: withSpecial,
      decoded: withSpecial.length === 0 ? "" : tokenizer.decode(withSpecial, { skip_special_tokens: false }),
      decoded_skip_special: withSpecial.length === 0 ? "" : tokenizer.decode(withSpecial, { skip_special_tokens: true }),
    });
  });
  fs.writeFileSync(path.join(__dirname, `hf_tokenizer_${name}.jsonl`), lines.join("\n") + "\n");
  console.log(name, lines.length);
}
