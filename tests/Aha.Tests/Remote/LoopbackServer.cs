using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aha.Tests.Remote;

/// <summary>
/// A real HTTP server on 127.0.0.1 (Kestrel, a free port) that answers <c>POST /v1/chat/completions</c> with what the test's
/// script says for each attempt (0, 1, …), and records every request body, its Authorization header and when it arrived.
/// </summary>
sealed class LoopbackServer : IAsyncDisposable
{
    readonly WebApplication _app;
    int _attempts;

    public ConcurrentQueue<(JsonObject Body, string? Authorization, DateTime Arrived)> Received { get; } = new();
    public string BaseUrl { get; }
    public int Attempts => Volatile.Read(ref _attempts);

    LoopbackServer(WebApplication app, string baseUrl) => (_app, BaseUrl) = (app, baseUrl);

    /// <param name="answer">Writes the response of attempt N (0-based) to the context.</param>
    public static async Task<LoopbackServer> StartAsync(Func<int, HttpContext, Task> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        LoopbackServer? server = null;
        app.MapPost("/v1/chat/completions", async context =>
        {
            var body = (JsonObject)(await JsonNode.ParseAsync(context.Request.Body))!;
            int attempt = Interlocked.Increment(ref server!._attempts) - 1;
            server.Received.Enqueue((body, context.Request.Headers.Authorization.FirstOrDefault(), DateTime.UtcNow));
            await answer(attempt, context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new LoopbackServer(app, address.TrimEnd('/') + "/v1");
        return server;
    }

    /// <summary>A chat completion as OpenAI writes it (with <c>reasoning_content</c> as DeepSeek and vLLM add it).</summary>
    public static string Completion(string content, string? reasoning = null, string? logprobs = null)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = content };
        if (reasoning is not null) message["reasoning_content"] = reasoning;
        var choice = new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = logprobs is null ? null : JsonNode.Parse(logprobs), ["finish_reason"] = "stop" };
        return new JsonObject
        {
            ["id"] = "chatcmpl-1", ["object"] = "chat.completion", ["created"] = 1, ["model"] = "judge", ["choices"] = new JsonArray(choice),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 12, ["completion_tokens"] = 3, ["total_tokens"] = 15 },
        }.ToJsonString();
    }

    public static Task Json(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
