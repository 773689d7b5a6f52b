using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aha.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aha.Tests.Distillation;

/// <summary>
/// A real OpenAI-compatible teacher on a free loopback port (Kestrel, real HTTP) that solves "What is a+b?" with the
/// reasoning in <c>reasoning_content</c>, gets every odd sum wrong (so the verifier has something to drop), and
/// misbehaves on demand: <see cref="Behave"/> decides per request whether to answer, stall or send a malformed reply.
/// Every user message it received is recorded.
/// </summary>
sealed partial class TeacherServer : IAsyncDisposable
{
    public enum Mode { Answer, Stall, Malformed }

    readonly WebApplication _app;

    public ConcurrentQueue<string> Received { get; } = new();
    /// <summary>What to do with a request for this user message (default: answer).</summary>
    public Func<string, Mode> Behave { get; set; } = _ => Mode.Answer;
    public string BaseUrl { get; }

    TeacherServer(WebApplication app, string address) => (_app, BaseUrl) = (app, address + "/v1");

    public static async Task<TeacherServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        TeacherServer? server = null;
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var body = JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync())!;
            string user = body["messages"]!.AsArray().Last(m => (string)m!["role"]! == "user")!["content"]!.GetValue<string>();
            server!.Received.Enqueue(user);
            switch (server.Behave(user))
            {
                case Mode.Stall:
                    await Task.Delay(TimeSpan.FromMinutes(1), context.RequestAborted); // the client's deadline ends it first
                    return Results.Ok();
                case Mode.Malformed:
                    return Results.Text("<html>502 Bad Gateway from a proxy, with status 200</html>", "text/html");
            }
            var match = Sum().Match(user);
            int a = int.Parse(match.Groups[1].Value), b = int.Parse(match.Groups[2].Value), sum = a + b;
            int answer = sum % 2 == 0 ? sum : sum + 10;
            return Results.Json(new JsonObject
            {
                ["id"] = "chatcmpl-1", ["object"] = "chat.completion", ["model"] = (string?)body["model"],
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["finish_reason"] = "stop",
                    ["message"] = new JsonObject { ["role"] = "assistant", ["reasoning_content"] = $"{a}+{b}={answer}", ["content"] = $" <answer>{answer}</answer>" },
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 20, ["completion_tokens"] = 12, ["total_tokens"] = 32 },
            });
        });
        await app.StartAsync();
        server = new TeacherServer(app, OpenAiServer.Address(app));
        return server;
    }

    [GeneratedRegex(@"(\d+)\s*\+\s*(\d+)")]
    private static partial Regex Sum();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
