using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Aha.Generation;
using Aha.Tokenizer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aha.Serving;

/// <summary>Where and how <c>aha serve</c> listens.</summary>
public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests); read the bound address from <see cref="OpenAiServer.Address"/>.</summary>
    public int Port { get; init; } = 8000;
    /// <summary>Required as <c>Authorization: Bearer …</c> on /v1/*; null = no key (loopback only).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Throws when the server would be reachable from other machines without a key.</summary>
    public ServerOptions Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port must be in 0..65535, got {Port}.");
        bool loopback = Host == "localhost" || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));
        if (!loopback && string.IsNullOrEmpty(ApiKey))
            throw new ArgumentException($"--host {Host} makes the server reachable from other machines; set an API key (--api-key-env NAME, with the key in that environment variable) or bind 127.0.0.1.");
        return this;
    }
}

/// <summary>
/// The OpenAI-compatible HTTP API over one <see cref="ServedModel"/>: <c>POST /v1/chat/completions</c> and
/// <c>POST /v1/completions</c> (streamed as server-sent events or whole), <c>GET /v1/models</c>, <c>GET /health</c>.
/// Every request goes through the model's <see cref="ContinuousBatcher"/>; a bad request gets an OpenAI-style error body
/// with its 4xx status and never stops the server.
/// </summary>
public static class OpenAiServer
{
    /// <summary>Builds the web application (call <c>StartAsync</c>/<c>RunAsync</c> on it).</summary>
    public static WebApplication Build(ServedModel served, ServerOptions options)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        var app = builder.Build();
        app.MapGet("/health", () => Results.Json(new JsonObject
        {
            ["status"] = "ok", ["model"] = served.Id, ["running"] = served.Batcher.Load.Running, ["queued"] = served.Batcher.Load.Queued,
        }));
        app.MapGet("/v1/models", (Func<HttpContext, Task<IResult>>)(context => Guarded(context, options, () => Task.FromResult(Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject
            {
                ["id"] = served.Id, ["object"] = "model", ["created"] = Created, ["owned_by"] = "aha", ["max_model_len"] = served.ContextLength,
            }),
        })))));
        app.MapPost("/v1/chat/completions", (Func<HttpContext, Task<IResult>>)(context => Guarded(context, options, () => Complete(context, served, chat: true))));
        app.MapPost("/v1/completions", (Func<HttpContext, Task<IResult>>)(context => Guarded(context, options, () => Complete(context, served, chat: false))));
        app.MapFallback((HttpContext context) => Results.Json(ApiException.Body($"no route {context.Request.Method} {context.Request.Path}; the API serves /v1/chat/completions, /v1/completions, /v1/models and /health.", "invalid_request_error", code: "not_found"), statusCode: 404));
        return app;
    }

    /// <summary>The address the started application listens on, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    static readonly long Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // Authorises, then turns every failure into an error body: the server never dies from a request.
    static async Task<IResult> Guarded(HttpContext context, ServerOptions options, Func<Task<IResult>> handle)
    {
        try
        {
            if (options.ApiKey is { } key)
            {
                string given = context.Request.Headers.Authorization.ToString();
                given = given.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? given[7..].Trim() : "";
                if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(key)))
                    throw new ApiException(401, "invalid or missing API key; send it as 'Authorization: Bearer <key>'.", code: "invalid_api_key");
            }
            return await handle();
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException)
        {
            return Results.Empty; // the client left; its rows were freed through the token
        }
        catch (Exception e)
        {
            var (status, body) = e switch
            {
                ApiException api => (api.Status, api.ToJson()),
                QueueFullException => (429, ApiException.Body(e.Message, "rate_limit_exceeded", code: "queue_full")),
                ArgumentException => (400, ApiException.Body(e.Message, "invalid_request_error")),
                _ => (500, ApiException.Body($"internal error: {e.Message}", "server_error")),
            };
            if (!context.Response.HasStarted) return Results.Json(body, statusCode: status);
            await WriteEvent(context, body); // mid-stream: an error event, then the stream ends
            return Results.Empty;
        }
    }

    static async Task<IResult> Complete(HttpContext context, ServedModel served, bool chat)
    {
        string body = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync(context.RequestAborted);
        var request = OpenAiRequest.Parse(body, chat);
        if (request.Model is { } model && model != served.Id)
            throw new ApiException(404, $"the model '{model}' does not exist; this server serves '{served.Id}' (GET /v1/models).", "model", "model_not_found");
        var (ids, thinkingOpen) = chat ? served.EncodeChat(request.Messages!) : (served.EncodeText(request.Prompt!), false);
        int room = served.ContextLength - ids.Length;
        if (room <= 0)
            throw new ApiException(400, $"the prompt is {ids.Length} tokens; the model's context is {served.ContextLength}. Shorten the prompt.", chat ? "messages" : "prompt", "context_length_exceeded");
        if (request.MaxTokens > room)
            throw new ApiException(400, $"'max_tokens' is {request.MaxTokens}, but the prompt ({ids.Length} tokens) leaves {room} of the model's {served.ContextLength}-token context; ask for at most {room}.", "max_tokens", "context_length_exceeded");
        long seed = request.Seed ?? Random.Shared.NextInt64(0, long.MaxValue / 2);
        var settings = new TextSettings
        {
            MaxTokens = request.MaxTokens ?? room, Temperature = request.Temperature, TopP = request.TopP, TopK = request.TopK, Stop = request.Stop,
            TopLogProbs = request.TopLogProbs,
        };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var choices = new List<TextCompletion>();
        try
        {
            for (int i = 0; i < request.N; i++) choices.Add(served.Start(ids, settings with { Seed = seed + i }, chat, thinkingOpen, cancel.Token));
            string id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var frame = new JsonObject { ["id"] = id, ["object"] = chat ? "chat.completion" : "text_completion", ["created"] = created, ["model"] = served.Id };
            var logProbs = request.LogProbs ? new LogProbsJson(served.Tokenizer) : null;
            if (request.Stream) await Stream(context, frame, choices, chat, request.IncludeUsage, ids.Length, logProbs);
            else return Results.Json(await Whole(frame, choices, chat, ids.Length, logProbs, cancel.Token));
            return Results.Empty;
        }
        finally
        {
            cancel.Cancel(); // a choice still running (an error, a disconnect) leaves the batch
        }
    }

    static async Task<JsonObject> Whole(JsonObject frame, List<TextCompletion> choices, bool chat, int promptTokens, LogProbsJson? logProbs, CancellationToken cancel)
    {
        var results = await Task.WhenAll(choices.Select(c => c.ReadAllAsync(cancel)));
        var array = new JsonArray();
        for (int i = 0; i < results.Length; i++)
        {
            var (reasoning, content, outcome) = results[i];
            var choice = new JsonObject { ["index"] = i };
            if (chat)
            {
                var message = new JsonObject { ["role"] = "assistant", ["content"] = content };
                if (reasoning is not null) message["reasoning_content"] = reasoning;
                choice["message"] = message;
            }
            else choice["text"] = (reasoning ?? "") + content;
            choice["logprobs"] = logProbs?.Of(outcome.Tokens);
            choice["finish_reason"] = Finish(outcome.Finish);
            array.Add(choice);
        }
        frame["choices"] = array;
        frame["usage"] = Usage(promptTokens, results.Sum(r => r.Outcome.CompletionTokens));
        return frame;
    }

    static async Task Stream(HttpContext context, JsonObject frame, List<TextCompletion> choices, bool chat, bool includeUsage, int promptTokens, LogProbsJson? logProbs)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        frame["object"] = chat ? "chat.completion.chunk" : "text_completion";
        var events = Channel.CreateUnbounded<(int Index, TextDelta? Delta, TextOutcome? Outcome)>();
        var readers = choices.Select((choice, index) => Task.Run(async () =>
        {
            try
            {
                await foreach (var delta in choice.ReadAsync()) await events.Writer.WriteAsync((index, delta, null));
                await events.Writer.WriteAsync((index, null, choice.Outcome));
            }
            catch (Exception e)
            {
                events.Writer.TryComplete(e);
            }
        })).ToArray();
        _ = Task.WhenAll(readers).ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);

        if (chat)
            for (int i = 0; i < choices.Count; i++)
                await WriteEvent(context, Chunk(frame, i, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, chat, includeUsage));
        int completionTokens = 0;
        await foreach (var (index, delta, outcome) in events.Reader.ReadAllAsync(context.RequestAborted))
        {
            if (delta is { } d)
            {
                if (d.Reasoning.Length + d.Content.Length == 0 && (logProbs is null || d.Tokens.Count == 0)) continue;
                var piece = new JsonObject();
                if (d.Reasoning.Length > 0) piece["reasoning_content"] = d.Reasoning;
                if (d.Content.Length > 0) piece["content"] = d.Content;
                await WriteEvent(context, Chunk(frame, index, chat ? piece : d.Reasoning + d.Content, null, chat, includeUsage, logProbs?.Of(d.Tokens)));
            }
            else if (outcome is not null)
            {
                completionTokens += outcome.CompletionTokens;
                await WriteEvent(context, Chunk(frame, index, chat ? new JsonObject() : "", Finish(outcome.Finish), chat, includeUsage));
            }
        }
        if (includeUsage)
        {
            var usage = (JsonObject)frame.DeepClone();
            usage["choices"] = new JsonArray();
            usage["usage"] = Usage(promptTokens, completionTokens);
            await WriteEvent(context, usage);
        }
        await response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        await response.Body.FlushAsync(context.RequestAborted);
    }

    static JsonObject Chunk(JsonObject frame, int index, JsonNode? delta, string? finish, bool chat, bool includeUsage, JsonObject? logProbs = null)
    {
        var chunk = (JsonObject)frame.DeepClone();
        var choice = new JsonObject { ["index"] = index };
        choice[chat ? "delta" : "text"] = delta;
        choice["logprobs"] = logProbs;
        choice["finish_reason"] = finish;
        chunk["choices"] = new JsonArray(choice);
        if (includeUsage) chunk["usage"] = null;
        return chunk;
    }

    static async Task WriteEvent(HttpContext context, JsonNode data)
    {
        await context.Response.WriteAsync($"data: {data.ToJsonString()}\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    static JsonObject Usage(int prompt, int completion) => new()
    {
        ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion,
    };

    static string Finish(FinishReason finish) => finish == FinishReason.Stop ? "stop" : "length";

    /// <summary>
    /// Chat's <c>logprobs</c> object: <c>{"content": [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}],
    /// "refusal": null}</c>. A token is its own decoded text (special tokens included); a token that holds part of a UTF-8
    /// character reads as U+FFFD, and its bytes are those of that text. An alternative that top-k or top-p removed has
    /// probability 0; JSON has no −∞, so its logprob reads −9999, as vLLM writes it.
    /// </summary>
    sealed class LogProbsJson(ITokenizer tokenizer)
    {
        public JsonObject Of(IReadOnlyList<GeneratedToken> tokens) => new()
        {
            ["content"] = new JsonArray([.. tokens.Select(t =>
            {
                var entry = Entry(t);
                entry["top_logprobs"] = new JsonArray([.. (t.Top ?? []).Select(Entry)]);
                return entry;
            })]),
            ["refusal"] = null,
        };

        JsonObject Entry(GeneratedToken t)
        {
            string text = tokenizer.Decode([t.Id]);
            return new JsonObject
            {
                ["token"] = text, ["logprob"] = float.IsFinite(t.LogProb) ? t.LogProb : -9999f, ["bytes"] = new JsonArray([.. Encoding.UTF8.GetBytes(text).Select(b => (JsonNode)(int)b)]),
            };
        }
    }
}
