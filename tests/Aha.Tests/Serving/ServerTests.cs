#pragma warning disable OPENAI001 // ChatCompletionOptions.Seed is marked experimental in the SDK
using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Aha.Generation;
using Aha.Serving;
using Aha.Tests.Training;
using Aha.Tokenizer;
using OpenAI;
using OpenAI.Chat;

namespace Aha.Tests.Serving;

/// <summary>`aha serve` driven over real loopback HTTP by the official OpenAI .NET SDK and by raw requests.</summary>
[Collection(ServingCollection.Name)]
public class ServerTests(ServingFixture fixture)
{
    ChatClient Sdk() => new("thinker", new ApiKeyCredential(ServingFixture.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(fixture.Address + "/v1") });

    HttpClient Http(string? key = ServingFixture.ApiKey, HttpMessageHandler? handler = null)
    {
        var http = new HttpClient(handler ?? new SocketsHttpHandler()) { BaseAddress = new Uri(fixture.Address), Timeout = TimeSpan.FromMinutes(1) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task The_OpenAI_SDK_gets_the_answer_as_content_the_think_block_as_reasoning_content_and_usage()
    {
        var result = await Sdk().CompleteChatAsync([new UserChatMessage(ServingFixture.Question)], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 });
        var completion = result.Value;
        Assert.Equal(ServingFixture.Answer, completion.Content[0].Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
        var raw = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        Assert.Equal(ServingFixture.Reasoning, raw["choices"]![0]!["message"]!["reasoning_content"]!.GetValue<string>());
        int promptTokens = ByteTokenizer.Default.EncodeChat([new Aha.Tokenizer.ChatMessage("user", ServingFixture.Question)]).Length;
        // <think> + reasoning + </think> + answer, one byte a token, and the end-of-turn token.
        int completionTokens = $"<think>{ServingFixture.Reasoning}</think>{ServingFixture.Answer}".Length + 1;
        Assert.Equal(promptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(completionTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(promptTokens + completionTokens, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task The_OpenAI_SDK_gets_each_tokens_log_probability_and_alternatives_as_the_model_computes_them()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        var completion = (await Sdk().CompleteChatAsync([new UserChatMessage(ServingFixture.Question)], options)).Value;
        var tokens = completion.ContentTokenLogProbabilities;
        // Every token of the reply but the end of turn: the think block and the answer, one byte each here.
        string reply = $"<think>{ServingFixture.Reasoning}</think>{ServingFixture.Answer}";
        Assert.Equal(reply, string.Concat(tokens.Select(t => t.Token)));
        Assert.All(tokens, t => Assert.Equal(Encoding.UTF8.GetBytes(t.Token), t.Utf8Bytes!.Value.ToArray()));
        // Greedy: the chosen token is the most likely one, listed first among 3 alternatives, most likely first.
        Assert.All(tokens, t =>
        {
            Assert.Equal(3, t.TopLogProbabilities.Count);
            Assert.Equal(t.Token, t.TopLogProbabilities[0].Token);
            Assert.Equal(t.LogProbability, t.TopLogProbabilities[0].LogProbability);
            Assert.True(t.TopLogProbabilities.Zip(t.TopLogProbabilities.Skip(1)).All(p => p.First.LogProbability >= p.Second.LogProbability));
        });
        // The model's own log-probabilities, teacher-forced through libtorch over prompt + reply (not the serving path).
        int[] prompt = ByteTokenizer.Default.EncodeChat([new Aha.Tokenizer.ChatMessage("user", ServingFixture.Question)]);
        int[] replyIds = ByteTokenizer.EncodeBytes(reply);
        using var inference = TorchSharp.torch.inference_mode();
        using var ids = TorchSharp.torch.tensor([.. prompt.Concat(replyIds).Select(i => (long)i)], [1, prompt.Length + replyIds.Length]);
        using var logp = fixture.Served.Model.forward(ids).log_softmax(-1); // (1, T, V)
        int alternatives = 0;
        for (int i = 0; i < replyIds.Length; i++)
        {
            float expected = logp[0, prompt.Length - 1 + i, replyIds[i]].item<float>();
            Assert.True(Math.Abs(expected - tokens[i].LogProbability) < 1e-4, $"token {i} ('{tokens[i].Token}'): served {tokens[i].LogProbability}, model {expected}");
            // Alternatives that are one ASCII byte map back to their id (a special token or part of a character does not).
            foreach (var alternative in tokens[i].TopLogProbabilities.Skip(1).Where(a => a.Token is [< (char)0x80]))
            {
                float model = logp[0, prompt.Length - 1 + i, alternative.Token[0]].item<float>();
                Assert.True(Math.Abs(model - alternative.LogProbability) < 1e-4, $"token {i}'s alternative '{alternative.Token}': served {alternative.LogProbability}, model {model}");
                alternatives++;
            }
        }
        Assert.True(alternatives > 0, "no alternative could be checked against the model");
    }

    [Fact]
    public async Task Alternatives_that_top_k_removed_come_back_with_logprob_minus_9999_not_an_error()
    {
        const string body = """{"messages": [{"role": "user", "content": "2+2?"}], "max_tokens": 3, "top_k": 1, "logprobs": true, "top_logprobs": 3, "seed": 1}""";
        using var http = Http();
        using var response = await http.PostAsync("/v1/chat/completions", Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var content = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal(3, content.Count);
        foreach (var entry in content)
        {
            var top = entry!["top_logprobs"]!.AsArray().Select(t => t!["logprob"]!.GetValue<float>()).ToArray();
            Assert.Equal([0f, -9999f, -9999f], top); // top-k 1 leaves one token, certain; the other two have probability 0
            Assert.Equal(0f, entry["logprob"]!.GetValue<float>());
        }
    }

    [Fact]
    public async Task Streamed_log_probabilities_are_the_whole_replys_token_for_token()
    {
        const string body = """{"messages": [{"role": "user", "content": "2+2?"}], "temperature": 0, "max_tokens": 40, "logprobs": true, "top_logprobs": 2, "stream": true}""";
        using var http = Http();
        using var response = await http.PostAsync("/v1/chat/completions", Json(body));
        var streamed = (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(line => line.StartsWith("data: {", StringComparison.Ordinal))
            .Select(line => JsonNode.Parse(line["data: ".Length..])!["choices"]![0]!["logprobs"])
            .Where(l => l is not null).SelectMany(l => l!["content"]!.AsArray()).Select(e => e!.ToJsonString()).ToList();
        using var whole = await http.PostAsync("/v1/chat/completions", Json(body.Replace("\"stream\": true", "\"stream\": false")));
        var entries = JsonNode.Parse(await whole.Content.ReadAsStringAsync())!["choices"]![0]!["logprobs"]!["content"]!.AsArray().Select(e => e!.ToJsonString()).ToList();
        Assert.Equal(entries, streamed);
        Assert.Equal(ServingFixture.Reasoning.Length + ServingFixture.Answer.Length + "<think></think>".Length, entries.Count);
    }

    [Fact]
    public async Task The_OpenAI_SDK_streams_the_answer_with_a_finish_reason_and_usage_and_the_raw_stream_carries_reasoning_deltas()
    {
        var text = new StringBuilder();
        OpenAI.Chat.ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Sdk().CompleteChatStreamingAsync([new UserChatMessage(ServingFixture.Question)], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 }))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(ServingFixture.Answer, text.ToString());
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal($"<think>{ServingFixture.Reasoning}</think>{ServingFixture.Answer}".Length + 1, usage!.OutputTokenCount);

        using var http = Http();
        using var response = await http.PostAsync("/v1/chat/completions", Json($$"""{"messages":[{"role":"user","content":"{{ServingFixture.Question}}"}],"temperature":0,"stream":true}"""));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var deltas = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!["choices"]![0]!["delta"]!).ToList();
        Assert.Equal("assistant", deltas[0]["role"]!.GetValue<string>());
        Assert.Equal(ServingFixture.Reasoning, string.Concat(deltas.Select(d => d["reasoning_content"]?.GetValue<string>())));
        Assert.Equal(ServingFixture.Answer, string.Concat(deltas.Select(d => d["content"]?.GetValue<string>())));
        Assert.True(deltas.Count(d => d["reasoning_content"] is not null) > 1, "reasoning arrives token by token, not at the end");
    }

    [Fact]
    public async Task A_stop_string_ends_the_completion_without_being_returned_and_n_choices_come_back_with_their_own_seeds()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 };
        options.StopSequences.Add(" and");
        var stopped = (await Sdk().CompleteChatAsync([new UserChatMessage(ServingFixture.Question)], options)).GetRawResponse().Content.ToString();
        var message = JsonNode.Parse(stopped)!["choices"]![0]!;
        Assert.Equal("two", message["message"]!["reasoning_content"]!.GetValue<string>());
        Assert.Equal("", message["message"]!["content"]!.GetValue<string>());
        Assert.Equal("stop", message["finish_reason"]!.GetValue<string>());

        using var http = Http();
        string body = """{"messages":[{"role":"user","content":"hi"}],"temperature":1,"seed":5,"n":3,"max_tokens":10,"some_vllm_field":{"x":1}}""";
        var many = JsonNode.Parse(await (await http.PostAsync("/v1/chat/completions", Json(body))).Content.ReadAsStringAsync())!;
        var choices = many["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => c!["index"]!.GetValue<int>()));
        // Choice i is drawn with seed + i: the same as a single request with that seed; usage adds the choices' tokens.
        int tokens = 0;
        for (int i = 0; i < 3; i++)
        {
            string single = $$"""{"messages":[{"role":"user","content":"hi"}],"temperature":1,"seed":{{5 + i}},"max_tokens":10}""";
            var alone = JsonNode.Parse(await (await http.PostAsync("/v1/chat/completions", Json(single))).Content.ReadAsStringAsync())!;
            Assert.Equal(alone["choices"]![0]!["message"]!.ToJsonString(), choices[i]!["message"]!.ToJsonString());
            tokens += alone["usage"]!["completion_tokens"]!.GetValue<int>();
        }
        Assert.Equal(tokens, many["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(many["usage"]!["prompt_tokens"]!.GetValue<int>(), ByteTokenizer.Default.EncodeChat([new Aha.Tokenizer.ChatMessage("user", "hi")]).Length);
    }

    [Fact]
    public async Task Sixteen_concurrent_requests_get_what_aha_generate_gives()
    {
        string[] prompts = [.. Enumerable.Range(0, 16).Select(i => i == 0 ? ServingFixture.Question : new string('x', i % 5) + $"{i}+{16 - i}?")];
        int code = CliProcess.Run(TimeSpan.FromMinutes(2), out var stdout, out var stderr,
            ["generate", "--model", fixture.ModelDir, "--chat", "--temperature", "0", "--max-tokens", "40", "--json", .. prompts.SelectMany(p => new[] { "--prompt", p })]);
        Assert.True(code == 0, stderr);
        var expected = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["completion"]!.GetValue<string>()).ToArray();
        Assert.Equal(16, expected.Length);

        var client = Sdk();
        var answers = await Task.WhenAll(prompts.Select(p => client.CompleteChatAsync([new UserChatMessage(p)], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 })));
        for (int i = 0; i < prompts.Length; i++)
        {
            var raw = JsonNode.Parse(answers[i].GetRawResponse().Content.ToString())!["choices"]![0]!["message"]!;
            // The same text, split as the server splits it (the splitter's own cases are in ReasoningSplitterTests).
            var splitter = new ReasoningSplitter();
            var (reasoning, content) = splitter.Push(expected[i]);
            var (heldReasoning, heldContent) = splitter.Flush();
            Assert.Equal(content + heldContent, raw["content"]!.GetValue<string>());
            Assert.Equal(reasoning + heldReasoning, raw["reasoning_content"]?.GetValue<string>() ?? "");
        }
        Assert.Equal(ServingFixture.Answer, answers[0].Value.Content[0].Text);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_frees_its_row_and_the_server_carries_on()
    {
        var batcher = fixture.Served.Batcher;
        int cancelledBefore = batcher.Cancelled;
        batcher.StepDelay = TimeSpan.FromMilliseconds(20); // 80 steps take far longer than the disconnect below
        try
        {
            // No drain on dispose: by default SocketsHttpHandler reads up to 2 s of an unfinished response to reuse the
            // connection, which on a fast machine is the whole stream, and the server then never sees a disconnect.
            using var http = Http(handler: new SocketsHttpHandler { MaxResponseDrainSize = 0 });
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json("""{"prompt":"xx","max_tokens":80,"temperature":0,"stream":true}""") };
            using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                Assert.StartsWith("data: ", await reader.ReadLineAsync());
            } // disposing the response aborts the connection
            for (int i = 0; i < 500 && (batcher.Cancelled == cancelledBefore || batcher.Load.Running > 0); i++) await Task.Delay(10);
            Assert.Equal(cancelledBefore + 1, batcher.Cancelled);
            Assert.Equal((0, 0), batcher.Load);
        }
        finally
        {
            batcher.StepDelay = TimeSpan.Zero;
        }
        var after = await Sdk().CompleteChatAsync([new UserChatMessage(ServingFixture.Question)], new ChatCompletionOptions { Temperature = 0 });
        Assert.Equal(ServingFixture.Answer, after.Value.Content[0].Text);
    }

    [Fact]
    public async Task A_full_queue_answers_429_and_the_queued_requests_still_complete()
    {
        using var served = ServedModel.Load(fixture.ModelDir, maxBatch: 1, maxQueue: 2);
        await using var app = OpenAiServer.Build(served, new ServerOptions { Port = 0 });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(OpenAiServer.Address(app)) };
        served.Batcher.Paused = true;
        string body = $$"""{"messages":[{"role":"user","content":"{{ServingFixture.Question}}"}],"temperature":0}""";
        var queued = Enumerable.Range(0, 2).Select(_ => http.PostAsync("/v1/chat/completions", Json(body))).ToArray();
        for (int i = 0; i < 500 && served.Batcher.Load.Queued < 2; i++) await Task.Delay(10);
        using var refused = await http.PostAsync("/v1/chat/completions", Json(body));
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
        Assert.Contains("queue is full", error["message"]!.GetValue<string>());
        served.Batcher.Paused = false;
        foreach (var response in await Task.WhenAll(queued)) Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.StopAsync();
    }

    [Theory]
    [InlineData("/v1/chat/completions", "{\"messages\": [", 400, null, "not valid JSON")]
    [InlineData("/v1/chat/completions", "[1, 2]", 400, null, "JSON object")]
    [InlineData("/v1/chat/completions", "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", 404, "model", "does not exist")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 5000}", 400, "max_tokens", "context")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": -0.5}", 400, "temperature", "≥ 0")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_p\": 0}", 400, "top_p", "(0, 1]")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"tool\", \"content\": \"hi\"}]}", 400, "messages[0].role", "not served")]
    [InlineData("/v1/chat/completions", "{\"messages\": []}", 400, "messages", "non-empty")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 0}", 400, "n", "between 1 and 16")]
    [InlineData("/v1/completions", "{\"prompt\": 42}", 400, "prompt", "non-empty string")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true, \"top_logprobs\": 21}", 400, "top_logprobs", "between 0 and 20")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_logprobs\": 2}", 400, "top_logprobs", "needs \"logprobs\": true")]
    [InlineData("/v1/completions", "{\"prompt\": \"hi\", \"logprobs\": 2}", 400, "logprobs", "/v1/chat/completions")]
    [InlineData("/v1/nothing", "{}", 404, null, "no route")]
    public async Task A_bad_request_gets_an_OpenAI_style_error_with_its_4xx(string path, string body, int status, string? param, string message)
    {
        using var http = Http();
        using var response = await http.PostAsync(path, Json(body));
        Assert.Equal(status, (int)response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Contains(message, error["message"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        using var health = await http.GetAsync("/health"); // the server is still up
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_wrong_or_missing_API_key_gets_401_and_binding_beyond_loopback_needs_a_key()
    {
        foreach (var key in new[] { "wrong", null })
        {
            using var http = Http(key);
            using var response = await http.GetAsync("/v1/models");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("invalid_api_key", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        }
        var sdk = new ChatClient("thinker", new ApiKeyCredential("wrong"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Address + "/v1") });
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => sdk.CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, refused.Status);

        var error = Assert.Throws<ArgumentException>(() => new ServerOptions { Host = "0.0.0.0" }.Validate());
        Assert.Contains("--api-key-env", error.Message);
        new ServerOptions { Host = "0.0.0.0", ApiKey = "k" }.Validate();
        new ServerOptions { Host = "::1" }.Validate();
    }
}
