using Aha.Remote;
using Aha.Tokenizer;

namespace Aha.Tests.Serving;

/// <summary><see cref="ChatEndpoint"/> talking to Aha's own OpenAI-compatible server (`aha serve` on loopback, key required).</summary>
[Collection(ServingCollection.Name)]
public class ChatEndpointServingTests(ServingFixture fixture)
{
    [Fact]
    public async Task The_endpoint_client_gets_the_served_models_answer_and_reasoning_with_the_key_from_its_variable()
    {
        string variable = "AHA_TEST_SERVE_KEY_" + Environment.ProcessId;
        Environment.SetEnvironmentVariable(variable, ServingFixture.ApiKey);
        try
        {
            using var client = new ChatEndpoint(new ChatEndpointOptions { BaseUrl = new Uri(fixture.Address + "/v1"), Model = "thinker", ApiKeyVariable = variable, Retries = 0 });
            var reply = await client.CompleteAsync([new ChatMessage("user", ServingFixture.Question)], new ChatCall(MaxTokens: 40, Temperature: 0));
            Assert.Equal(ServingFixture.Answer, reply.Content);
            Assert.Equal(ServingFixture.Reasoning, reply.Reasoning);
            Assert.Equal("stop", reply.FinishReason);
            Assert.Equal((1, 0), (client.Requests, client.Retried));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task The_endpoint_client_reads_aha_serves_top_log_probabilities_as_a_soft_judge_asks_for_them()
    {
        string variable = "AHA_TEST_SERVE_KEY_TOP_" + Environment.ProcessId;
        Environment.SetEnvironmentVariable(variable, ServingFixture.ApiKey);
        using var client = new ChatEndpoint(new ChatEndpointOptions { BaseUrl = new Uri(fixture.Address + "/v1"), Model = "thinker", ApiKeyVariable = variable, Retries = 0 });
        var reply = await client.CompleteAsync([new ChatMessage("user", ServingFixture.Question)], new ChatCall(MaxTokens: 1, Temperature: 0, TopLogprobs: 10));
        var first = Assert.Single(reply.Logprobs!);
        Assert.Equal("<", first.Token); // the taught reply opens its think block
        Assert.Equal(10, first.Top.Count);
        Assert.Equal((first.Token, first.Logprob), first.Top[0]);
        Assert.True(first.Top.Sum(t => Math.Exp(t.Logprob)) <= 1 + 1e-5);

        Environment.SetEnvironmentVariable(variable, null);
    }
}
