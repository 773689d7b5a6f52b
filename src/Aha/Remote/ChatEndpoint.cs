using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Aha.Generation;
using Aha.Tokenizer;

namespace Aha.Remote;

/// <summary>Where an OpenAI-compatible server is and how patiently to ask it (a judge for RLAIF, a teacher for distillation).</summary>
public sealed record ChatEndpointOptions
{
    /// <summary>The API root, ending in <c>/v1</c> (vLLM, llama.cpp's server, Ollama, <c>aha serve</c>, OpenAI).</summary>
    public required Uri BaseUrl { get; init; }
    public required string Model { get; init; }
    /// <summary>Name of the environment variable that holds the API key; null sends none.</summary>
    public string? ApiKeyVariable { get; init; }
    /// <summary>How long one attempt may take, from sending to the whole reply.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Further attempts after a failure that may pass (connection refused, deadline, 408, 429, 5xx).</summary>
    public int Retries { get; init; } = 3;
    /// <summary>First pause between attempts; it doubles each time (a Retry-After header wins when longer, up to 30 s).</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>Requests in flight at once; callers beyond it wait.</summary>
    public int MaxConcurrency { get; init; } = 4;
    /// <summary>The option the user gave the URL with, named in errors (e.g. <c>--judge-url</c>).</summary>
    public string Option { get; init; } = "--url";

    public ChatEndpointOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"{Option} {BaseUrl}: {message}"); }
        Require(BaseUrl.IsAbsoluteUri && (BaseUrl.Scheme == Uri.UriSchemeHttp || BaseUrl.Scheme == Uri.UriSchemeHttps), "must be an http(s) URL such as http://127.0.0.1:8000/v1.");
        Require(!string.IsNullOrWhiteSpace(Model), "a model name is required (GET <url>/models lists the server's).");
        Require(Deadline > TimeSpan.Zero, $"the deadline must be positive (got {Deadline}).");
        Require(Retries >= 0, $"retries must be ≥ 0 (got {Retries}).");
        Require(MaxConcurrency > 0, $"the concurrency limit must be positive (got {MaxConcurrency}).");
        return this;
    }
}

/// <summary>What one call asks for beyond the messages.</summary>
/// <param name="TopLogprobs">alternatives per token to return with their log-probabilities (0–20); null asks for no log-probabilities</param>
public sealed record ChatCall(int MaxTokens = 512, double Temperature = 0, long? Seed = null, int? TopLogprobs = null, IReadOnlyList<string>? Stop = null);

/// <summary>One generated token's log-probability and the most likely alternatives at its position (the token itself may be among them).</summary>
public sealed record TokenLogprob(string Token, double Logprob, IReadOnlyList<(string Token, double Logprob)> Top);

/// <summary>The first choice of a reply: its answer, its reasoning (<c>reasoning_content</c>, or the <c>&lt;think&gt;</c> block), and what it cost.</summary>
public sealed record ChatReply(string Content, string? Reasoning, string FinishReason, int PromptTokens, int CompletionTokens, IReadOnlyList<TokenLogprob>? Logprobs);

/// <summary>A request the endpoint did not answer usefully; the message names the URL, what went wrong and the fix.</summary>
public sealed class EndpointException(string message, HttpStatusCode? status = null, Exception? inner = null) : Exception(message, inner)
{
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>
/// A client of an OpenAI-compatible <c>/chat/completions</c> endpoint: a deadline per attempt, retries with doubling backoff
/// for failures that may pass, a concurrency limit, and errors that say what to fix. It reads the fields such servers add
/// beyond OpenAI's (<c>reasoning_content</c>, vLLM's <c>reasoning</c>), which is why it is plain <see cref="HttpClient"/>
/// rather than an SDK that drops them. Thread-safe.
/// </summary>
public sealed class ChatEndpoint : IDisposable
{
    readonly ChatEndpointOptions _options;
    readonly HttpClient _http;
    readonly SemaphoreSlim _slots;
    readonly Uri _completions;
    int _requests, _retries;

    public ChatEndpoint(ChatEndpointOptions options, HttpMessageHandler? handler = null)
    {
        _options = options.Validate();
        _http = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        if (options.ApiKeyVariable is { } variable)
        {
            var key = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(key))
                throw new ArgumentException($"{options.Option} {options.BaseUrl}: the API key variable {variable} is not set or empty; export it, or drop the key option for a server without one.");
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        _slots = new SemaphoreSlim(options.MaxConcurrency);
        var root = options.BaseUrl.AbsoluteUri.TrimEnd('/');
        _completions = new Uri(root + "/chat/completions");
    }

    public ChatEndpointOptions Options => _options;
    /// <summary>Attempts sent since creation, retries included.</summary>
    public int Requests => Volatile.Read(ref _requests);
    /// <summary>Attempts that failed in a way that may pass and were tried again.</summary>
    public int Retried => Volatile.Read(ref _retries);

    /// <summary>Sends the conversation and returns the first choice; throws <see cref="EndpointException"/> when every attempt failed or the reply is not a chat completion.</summary>
    public async Task<ChatReply> CompleteAsync(IReadOnlyList<ChatMessage> messages, ChatCall call, CancellationToken cancel = default)
    {
        string body = RequestBody(messages, call).ToJsonString();
        await _slots.WaitAsync(cancel);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                var (reply, failure, retryAfter) = await AttemptAsync(body, call, cancel);
                if (reply is not null) return reply;
                bool retryable = failure!.Status is null or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)failure.Status >= 500;
                if (!retryable) throw failure;
                if (attempt >= _options.Retries)
                    throw new EndpointException($"{failure.Message} (gave up after {attempt + 1} attempts)", failure.Status, failure.InnerException);
                Interlocked.Increment(ref _retries);
                var pause = _options.Backoff * Math.Pow(2, attempt);
                if (retryAfter is { } hinted && hinted > pause) pause = hinted;
                await Task.Delay(pause < TimeSpan.FromSeconds(30) ? pause : TimeSpan.FromSeconds(30), cancel);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    JsonObject RequestBody(IReadOnlyList<ChatMessage> messages, ChatCall call)
    {
        var list = new JsonArray();
        foreach (var m in messages) list.Add(new JsonObject { ["role"] = m.Role, ["content"] = m.Content });
        var body = new JsonObject
        {
            ["model"] = _options.Model,
            ["messages"] = list,
            ["max_tokens"] = call.MaxTokens,
            ["temperature"] = call.Temperature,
            ["stream"] = false,
        };
        if (call.Seed is { } seed) body["seed"] = seed;
        if (call.TopLogprobs is { } top)
        {
            body["logprobs"] = true;
            body["top_logprobs"] = top;
        }
        if (call.Stop is { Count: > 0 } stop) body["stop"] = new JsonArray([.. stop.Select(s => (JsonNode)s)]);
        return body;
    }

    async Task<(ChatReply? Reply, EndpointException? Failure, TimeSpan? RetryAfter)> AttemptAsync(string body, ChatCall call, CancellationToken cancel)
    {
        string where = $"{_options.Option} {_options.BaseUrl}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(_options.Deadline);
        Interlocked.Increment(ref _requests);
        HttpResponseMessage response;
        string text;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _completions) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            response = await _http.SendAsync(request, deadline.Token);
            text = await response.Content.ReadAsStringAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return (null, new EndpointException($"{where}: no reply within {_options.Deadline.TotalSeconds:0.#} s; raise the deadline, or check the server is not overloaded."), null);
        }
        catch (HttpRequestException e)
        {
            return (null, new EndpointException($"{where}: cannot reach the server ({e.Message}); is it running, and does the URL end in /v1?", inner: e), null);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var status = response.StatusCode;
                string detail = ErrorMessage(text);
                string fix = status switch
                {
                    HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => _options.ApiKeyVariable is { } v
                        ? $"the server refused the API key in {v}; set it to a key the server accepts."
                        : "the server wants an API key; pass the name of the environment variable that holds it.",
                    HttpStatusCode.NotFound => $"check that the URL ends in /v1 and that the server serves model '{_options.Model}' (GET {_options.BaseUrl.AbsoluteUri.TrimEnd('/')}/models lists them).",
                    _ => "",
                };
                var retryAfter = response.Headers.RetryAfter?.Delta;
                return (null, new EndpointException($"{where}: HTTP {(int)status} {status}{(detail.Length > 0 ? $": {detail.TrimEnd('.')}" : "")}{(fix.Length > 0 ? $"; {fix}" : "")}", status), retryAfter);
            }
            try
            {
                return (Parse(text, call), null, null);
            }
            catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException)
            {
                // Not retried: the server answered, and would answer the same way again.
                throw new EndpointException($"{where}: the reply is not an OpenAI chat completion ({e.Message}); it began: {Snippet(text)}", response.StatusCode, e);
            }
        }
    }

    static ChatReply Parse(string text, ChatCall call)
    {
        var root = JsonNode.Parse(text) as JsonObject ?? throw new FormatException("not a JSON object");
        var choices = root["choices"] as JsonArray ?? throw new FormatException("no 'choices' array");
        if (choices.Count == 0 || choices[0] is not JsonObject choice) throw new FormatException("'choices' is empty");
        var message = choice["message"] as JsonObject ?? throw new FormatException("choices[0] has no 'message'");
        string content = message["content"]?.GetValue<string>() ?? "";
        string? reasoning = message["reasoning_content"]?.GetValue<string>() ?? message["reasoning"]?.GetValue<string>();
        if (reasoning is null && content.Contains("</think>", StringComparison.Ordinal))
        {
            var splitter = new ReasoningSplitter(opened: !content.Contains("<think>", StringComparison.Ordinal));
            var (r, c) = splitter.Push(content);
            var (hr, hc) = splitter.Flush();
            (reasoning, content) = (r + hr, c + hc);
        }
        string finish = choice["finish_reason"]?.GetValue<string>() ?? "";
        var usage = root["usage"] as JsonObject;
        int prompt = usage?["prompt_tokens"]?.GetValue<int>() ?? 0, completion = usage?["completion_tokens"]?.GetValue<int>() ?? 0;
        List<TokenLogprob>? logprobs = null;
        if (call.TopLogprobs is not null)
        {
            var entries = choice["logprobs"]?["content"] as JsonArray
                ?? throw new FormatException("log-probabilities were asked for (top_logprobs) and choices[0].logprobs.content is missing; the server may not support them");
            logprobs = [];
            foreach (var entry in entries)
            {
                var top = (entry?["top_logprobs"] as JsonArray ?? [])
                    .Select(t => (Field(t, "token").GetValue<string>(), Field(t, "logprob").GetValue<double>())).ToList();
                logprobs.Add(new TokenLogprob(Field(entry, "token").GetValue<string>(), Field(entry, "logprob").GetValue<double>(), top));
            }
        }
        return new ChatReply(content, reasoning, finish, prompt, completion, logprobs);
    }

    static JsonNode Field(JsonNode? node, string name) =>
        node?[name] ?? throw new FormatException($"a log-probability entry has no '{name}'");

    static string ErrorMessage(string text)
    {
        try
        {
            if (JsonNode.Parse(text)?["error"] is { } error)
                return error is JsonObject o ? o["message"]?.GetValue<string>() ?? error.ToJsonString() : error.ToString();
        }
        catch (System.Text.Json.JsonException) { }
        return Snippet(text);
    }

    static string Snippet(string text) => text.Length <= 200 ? text : text[..200] + "…";

    public void Dispose()
    {
        _http.Dispose();
        _slots.Dispose();
    }
}
