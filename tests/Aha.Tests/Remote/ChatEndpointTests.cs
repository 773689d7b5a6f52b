using System.Net;
using System.Net.Sockets;
using Aha.Remote;
using Aha.Tokenizer;
using Microsoft.AspNetCore.Http;

namespace Aha.Tests.Remote;

/// <summary><see cref="ChatEndpoint"/> against a real HTTP server on 127.0.0.1 that answers as each test scripts it.</summary>
public class ChatEndpointTests
{
    static readonly ChatMessage[] Question = [new("user", "Which is better, A or B?")];

    static ChatEndpoint Client(string url, int retries = 2, TimeSpan? deadline = null, string? keyVariable = null) => new(new ChatEndpointOptions
    {
        BaseUrl = new Uri(url), Model = "judge", Retries = retries, Deadline = deadline ?? TimeSpan.FromSeconds(30),
        Backoff = TimeSpan.FromMilliseconds(1), ApiKeyVariable = keyVariable, Option = "--judge-url",
    });

    [Fact]
    public async Task A_reply_gives_its_content_reasoning_usage_and_top_logprobs_and_the_request_carries_model_key_and_options()
    {
        const string logprobs = """{"content":[{"token":"A","logprob":-0.3,"top_logprobs":[{"token":"A","logprob":-0.3},{"token":"B","logprob":-1.4}]}]}""";
        await using var server = await LoopbackServer.StartAsync((_, c) => LoopbackServer.Json(c, 200, LoopbackServer.Completion("A", "compared both", logprobs)));
        string variable = "AHA_TEST_JUDGE_KEY_" + Environment.ProcessId;
        Environment.SetEnvironmentVariable(variable, "sk-loopback");
        try
        {
            using var client = Client(server.BaseUrl, keyVariable: variable);
            var reply = await client.CompleteAsync(Question, new ChatCall(MaxTokens: 1, Temperature: 0, Seed: 5, TopLogprobs: 2));

            Assert.Equal("A", reply.Content);
            Assert.Equal("compared both", reply.Reasoning);
            Assert.Equal("stop", reply.FinishReason);
            Assert.Equal((12, 3), (reply.PromptTokens, reply.CompletionTokens));
            var first = Assert.Single(reply.Logprobs!);
            Assert.Equal(("A", -0.3), (first.Token, first.Logprob));
            Assert.Equal([("A", -0.3), ("B", -1.4)], first.Top);
            Assert.Equal((1, 0), (client.Requests, client.Retried));

            var (body, authorization, _) = Assert.Single(server.Received);
            Assert.Equal("Bearer sk-loopback", authorization);
            Assert.Equal("judge", body["model"]!.GetValue<string>());
            Assert.Equal("Which is better, A or B?", body["messages"]![0]!["content"]!.GetValue<string>());
            Assert.Equal(2, body["top_logprobs"]!.GetValue<int>());
            Assert.True(body["logprobs"]!.GetValue<bool>());
            Assert.Equal(5, body["seed"]!.GetValue<long>());
            Assert.Equal(1, body["max_tokens"]!.GetValue<int>());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task A_think_block_in_the_content_is_split_off_as_the_reasoning()
    {
        await using var server = await LoopbackServer.StartAsync((_, c) => LoopbackServer.Json(c, 200, LoopbackServer.Completion("<think>B slips a carry</think>A")));
        using var client = Client(server.BaseUrl);
        var reply = await client.CompleteAsync(Question, new ChatCall());
        Assert.Equal(("A", "B slips a carry"), (reply.Content, reply.Reasoning));
    }

    [Fact]
    public async Task A_server_that_does_not_answer_within_the_deadline_is_retried_then_reported()
    {
        await using var server = await LoopbackServer.StartAsync(async (_, c) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted); }
            catch (OperationCanceledException) { } // the client gave up, as it should
        });
        using var client = Client(server.BaseUrl, retries: 1, deadline: TimeSpan.FromMilliseconds(300));
        var error = await Assert.ThrowsAsync<EndpointException>(() => client.CompleteAsync(Question, new ChatCall()));
        Assert.Contains("--judge-url " + server.BaseUrl, error.Message);
        Assert.Contains("no reply within 0.3 s", error.Message);
        Assert.Contains("gave up after 2 attempts", error.Message);
        Assert.Equal((2, 1), (client.Requests, client.Retried));
    }

    [Fact]
    public async Task A_5xx_is_retried_and_the_next_success_is_returned()
    {
        await using var server = await LoopbackServer.StartAsync((attempt, c) => attempt < 2
            ? LoopbackServer.Json(c, attempt == 0 ? 503 : 500, """{"error":{"message":"model is loading"}}""")
            : LoopbackServer.Json(c, 200, LoopbackServer.Completion("B")));
        using var client = Client(server.BaseUrl, retries: 3);
        var reply = await client.CompleteAsync(Question, new ChatCall());
        Assert.Equal("B", reply.Content);
        Assert.Equal((3, 2), (client.Requests, client.Retried));
        Assert.Equal(3, server.Attempts);
    }

    [Fact]
    public async Task A_5xx_on_every_attempt_names_the_status_the_servers_message_and_the_attempts()
    {
        await using var server = await LoopbackServer.StartAsync((_, c) => LoopbackServer.Json(c, 502, """{"error":{"message":"upstream down"}}"""));
        using var client = Client(server.BaseUrl, retries: 2);
        var error = await Assert.ThrowsAsync<EndpointException>(() => client.CompleteAsync(Question, new ChatCall()));
        Assert.Equal(HttpStatusCode.BadGateway, error.Status);
        Assert.Contains("HTTP 502", error.Message);
        Assert.Contains("upstream down", error.Message);
        Assert.Contains("gave up after 3 attempts", error.Message);
        Assert.Equal(3, server.Attempts);
    }

    [Fact]
    public async Task A_429_waits_at_least_its_Retry_After_before_the_next_attempt()
    {
        await using var server = await LoopbackServer.StartAsync((attempt, c) =>
        {
            if (attempt > 0) return LoopbackServer.Json(c, 200, LoopbackServer.Completion("A"));
            c.Response.Headers.RetryAfter = "1";
            return LoopbackServer.Json(c, 429, """{"error":{"message":"rate limited"}}""");
        });
        using var client = Client(server.BaseUrl);
        var reply = await client.CompleteAsync(Question, new ChatCall());
        Assert.Equal("A", reply.Content);
        Assert.Equal((2, 1), (client.Requests, client.Retried));
        var arrivals = server.Received.Select(r => r.Arrived).ToArray();
        // The backoff is 1 ms, so only the header can make the gap this long (a lower bound: load only lengthens it).
        Assert.True(arrivals[1] - arrivals[0] >= TimeSpan.FromMilliseconds(950), $"second attempt came {(arrivals[1] - arrivals[0]).TotalMilliseconds:F0} ms after the first");
    }

    [Fact]
    public async Task A_401_is_not_retried_and_names_the_key_variable()
    {
        await using var server = await LoopbackServer.StartAsync((_, c) => LoopbackServer.Json(c, 401, """{"error":{"message":"invalid api key"}}"""));
        string variable = "AHA_TEST_WRONG_KEY_" + Environment.ProcessId;
        Environment.SetEnvironmentVariable(variable, "sk-wrong");
        try
        {
            using var client = Client(server.BaseUrl, keyVariable: variable);
            var error = await Assert.ThrowsAsync<EndpointException>(() => client.CompleteAsync(Question, new ChatCall()));
            Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
            Assert.Contains($"refused the API key in {variable}", error.Message);
            Assert.Equal(1, server.Attempts);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void A_key_variable_that_is_not_set_fails_before_any_request_and_names_it()
    {
        var error = Assert.Throws<ArgumentException>(() => Client("http://127.0.0.1:9/v1", keyVariable: "AHA_TEST_UNSET_KEY_VARIABLE"));
        Assert.Contains("AHA_TEST_UNSET_KEY_VARIABLE is not set", error.Message);
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("""{"object":"chat.completion","choices":[]}""")]
    [InlineData("""{"choices":[{"index":0,"text":"A"}]}""")]
    public async Task A_malformed_reply_is_reported_with_its_start_and_not_retried(string body)
    {
        await using var server = await LoopbackServer.StartAsync((_, c) => LoopbackServer.Json(c, 200, body));
        using var client = Client(server.BaseUrl, retries: 3);
        var error = await Assert.ThrowsAsync<EndpointException>(() => client.CompleteAsync(Question, new ChatCall()));
        Assert.Contains("the reply is not an OpenAI chat completion", error.Message);
        Assert.Contains(body[..Math.Min(body.Length, 20)], error.Message);
        Assert.Equal((1, 0), (client.Requests, client.Retried));
    }

    [Fact]
    public async Task Log_probabilities_asked_for_but_missing_say_the_server_may_not_support_them()
    {
        await using var server = await LoopbackServer.StartAsync((_, c) => LoopbackServer.Json(c, 200, LoopbackServer.Completion("A")));
        using var client = Client(server.BaseUrl);
        var error = await Assert.ThrowsAsync<EndpointException>(() => client.CompleteAsync(Question, new ChatCall(TopLogprobs: 5)));
        Assert.Contains("may not support them", error.Message);
        Assert.Equal(1, server.Attempts);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_then_reported_with_the_url()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0); // a port that was free a moment ago and has nobody listening now
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        string url = $"http://127.0.0.1:{port}/v1";
        using var client = Client(url, retries: 1);
        var error = await Assert.ThrowsAsync<EndpointException>(() => client.CompleteAsync(Question, new ChatCall()));
        Assert.Contains($"--judge-url {url}", error.Message);
        Assert.Contains("cannot reach the server", error.Message);
        Assert.Contains("gave up after 2 attempts", error.Message);
        Assert.Null(error.Status);
        Assert.Equal((2, 1), (client.Requests, client.Retried));
    }
}
