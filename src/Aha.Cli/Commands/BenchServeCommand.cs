using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Aha.Generation;
using Aha.Serving;
using Aha.Tokenizer;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha bench serve`: N concurrent streaming clients on loopback against an in-process `aha serve` for a fixed number of
/// requests (greedy, so every run generates the same tokens), then the same requests through the engine directly in
/// static batches of N (Engine.Generate): what HTTP and SSE cost, and what continuous batching gains over static batches.
/// </summary>
static class BenchServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A checkpoint folder (e.g. the demo's base model).", Required = true };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients.", DefaultValueFactory = _ => 8 };
        var requests = new Option<int>("--requests") { Description = "Requests in total.", DefaultValueFactory = _ => 64 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens of each request.", DefaultValueFactory = _ => 64 };
        var threads = RunOptions.NewThreads();
        var command = new Command("serve", "Throughput and latency of `aha serve` under N concurrent clients (requests/s, tokens/s, p50/p95 time to first token and latency, errors), beside the engine's tokens/s on the same load.")
        {
            model, clients, requests, maxTokens, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            int n = r.GetValue(clients), count = r.GetValue(requests), max = r.GetValue(maxTokens);
            if (n <= 0 || count <= 0 || max <= 0) throw new ArgumentException("--clients, --requests and --max-tokens must be positive.");
            using var served = ServedModel.Load(r.GetValue(model)!, maxBatch: n, maxQueue: count);
            var app = OpenAiServer.Build(served, new ServerOptions { Port = 0 });
            app.StartAsync().GetAwaiter().GetResult();
            string address = OpenAiServer.Address(app);
            // Addition questions in the demo's range; greedy, so the served and the direct run generate the same tokens.
            string Question(int i) => $"What is {17 + 7 * i % 80} + {5 + 13 * i % 90}?";
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(10) };
            Load(http, served.Id, 2, Math.Min(n, 4), Question); // warm-up: JIT, first allocations
            long warmSteps = served.Batcher.Steps;
            var (samples, wall) = Load(http, served.Id, max, count, Question, n);
            app.StopAsync().GetAwaiter().GetResult();

            long servedSteps = served.Batcher.Steps - warmSteps;
            var engine = new Engine(served.Model) { Profile = new DecodeProfile() };
            var direct = Enumerable.Range(0, count).Select(i => new GenerationRequest(served.EncodeChat([new ChatMessage("user", Question(i))]).Ids, i)).ToList();
            var sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = max, StopTokenIds = served.Tokenizer.StopIds };
            var clock = Stopwatch.StartNew();
            int directTokens = direct.Chunk(n).Sum(batch => engine.Generate(batch, sampling).Sum(c => c.TokenIds.Count));
            double directSeconds = clock.Elapsed.TotalSeconds;

            var ok = samples.Where(s => s.Error is null).ToList();
            int tokens = ok.Sum(s => s.Tokens);
            double Percentile(IEnumerable<double> values, double p)
            {
                var sorted = values.Order().ToArray();
                return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
            }
            double servedRate = tokens / wall, directRate = directTokens / directSeconds;
            var rows = new List<(string, string)>
            {
                ("model", $"{served.Id} (context {served.ContextLength})"),
                ("clients, requests, max_tokens", $"{n}, {count}, {max}"),
                ("requests/s", $"{ok.Count / wall:F2}"),
                ("tokens/s served (completion tokens)", $"{servedRate:F1}"),
                ("time to first token p50 / p95", $"{Percentile(ok.Select(s => s.FirstToken), 0.5) * 1000:F0} / {Percentile(ok.Select(s => s.FirstToken), 0.95) * 1000:F0} ms"),
                ("latency p50 / p95", $"{Percentile(ok.Select(s => s.Latency), 0.5) * 1000:F0} / {Percentile(ok.Select(s => s.Latency), 0.95) * 1000:F0} ms"),
                ("errors", $"{samples.Count - ok.Count}{(samples.FirstOrDefault(s => s.Error is not null)?.Error is { } e ? $" (first: {e})" : "")}"),
                ("tokens/s direct (Engine.Generate, batches of N)", $"{directRate:F1}"),
                ("tokens served / direct (greedy: equal)", $"{tokens} / {directTokens}"),
                ("decode steps served / direct", $"{servedSteps} / {engine.Profile.Steps}"),
                ("tokens/s served / direct", $"{servedRate / directRate:F2}"),
            };
            BenchCommand.Report("aha bench serve", rows, new JsonObject
            {
                ["bench"] = "serve", ["model"] = served.Id, ["clients"] = n, ["requests"] = count, ["max_tokens"] = max,
                ["requests_per_s"] = Math.Round(ok.Count / wall, 3), ["tokens_per_s"] = Math.Round(servedRate, 1), ["tokens"] = tokens,
                ["ttft_p50_ms"] = Math.Round(Percentile(ok.Select(s => s.FirstToken), 0.5) * 1000, 1), ["ttft_p95_ms"] = Math.Round(Percentile(ok.Select(s => s.FirstToken), 0.95) * 1000, 1),
                ["latency_p50_ms"] = Math.Round(Percentile(ok.Select(s => s.Latency), 0.5) * 1000, 1), ["latency_p95_ms"] = Math.Round(Percentile(ok.Select(s => s.Latency), 0.95) * 1000, 1),
                ["errors"] = samples.Count - ok.Count, ["direct_tokens_per_s"] = Math.Round(directRate, 1), ["direct_tokens"] = directTokens,
                ["served_over_direct"] = Math.Round(servedRate / directRate, 3),
                // A static batch runs until its longest row; continuous batching refills freed rows, so it needs fewer steps.
                ["served_decode_steps"] = servedSteps, ["direct_decode_steps"] = engine.Profile.Steps,
            });
        }));
        return command;
    }

    sealed record Sample(double FirstToken, double Latency, int Tokens, string? Error);

    // `clients` tasks take request numbers from one counter until `count` have been sent; each streams one chat completion.
    static (List<Sample> Samples, double Seconds) Load(HttpClient http, string model, int maxTokens, int count, Func<int, string> question, int clients = 1)
    {
        var samples = new List<Sample>();
        int next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                var sample = await One(http, model, maxTokens, question(i));
                lock (samples) samples.Add(sample);
            }
        })).ToArray();
        Task.WaitAll(workers);
        return (samples, clock.Elapsed.TotalSeconds);
    }

    static async Task<Sample> One(HttpClient http, string model, int maxTokens, string question)
    {
        var body = new JsonObject
        {
            ["model"] = model, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = question }),
            ["max_tokens"] = maxTokens, ["temperature"] = 0, ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        var clock = Stopwatch.StartNew();
        double first = double.NaN;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json")) };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) return new Sample(0, 0, 0, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            int tokens = 0;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
                var chunk = JsonNode.Parse(line[6..])!;
                if (chunk["error"] is { } error) return new Sample(0, 0, 0, error.ToJsonString());
                if (double.IsNaN(first) && chunk["choices"]?[0]?["delta"] is JsonObject delta && (delta["content"] ?? delta["reasoning_content"])?.GetValue<string>() is { Length: > 0 })
                    first = clock.Elapsed.TotalSeconds;
                if (chunk["usage"]?["completion_tokens"] is { } used) tokens = used.GetValue<int>();
            }
            // A completion that was only a stop token has no text: its first token came with its end.
            return new Sample(double.IsNaN(first) ? clock.Elapsed.TotalSeconds : first, clock.Elapsed.TotalSeconds, tokens, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Text.Json.JsonException)
        {
            return new Sample(0, 0, 0, e.Message);
        }
    }
}
