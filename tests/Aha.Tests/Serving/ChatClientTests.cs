#pragma warning disable OPENAI001 // ChatCompletionOptions.Seed is marked experimental in the SDK
using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using Aha.Serving;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Aha.Tests.Serving;

/// <summary>The in-process IChatClient against the server it shares a model (and batcher) with.</summary>
[Collection(ServingCollection.Name)]
public class ChatClientTests(ServingFixture fixture)
{
    [Fact]
    public async Task The_chat_client_returns_reasoning_and_answer_apart_with_usage_finish_reason_and_metadata()
    {
        using var client = new AhaChatClient(fixture.Served);
        var response = await client.GetResponseAsync(ServingFixture.Question, new ChatOptions { Temperature = 0 }); // the README's string overload
        Assert.Equal(ServingFixture.Answer, response.Text);
        Assert.Equal(ServingFixture.Reasoning, Assert.Single(response.Messages[0].Contents.OfType<TextReasoningContent>()).Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal($"<think>{ServingFixture.Reasoning}</think>{ServingFixture.Answer}".Length + 1, response.Usage!.OutputTokenCount);
        var metadata = client.GetService<ChatClientMetadata>()!;
        Assert.Equal("aha", metadata.ProviderName);
        Assert.Equal("thinker", metadata.DefaultModelId);
    }

    [Fact]
    public async Task The_chat_client_gives_the_servers_text_for_the_same_seed_whole_and_streamed_and_concurrently()
    {
        using var local = new AhaChatClient(fixture.Served);
        // The server through the official SDK's Microsoft.Extensions.AI adapter: the same abstraction on both sides.
        using var remote = new OpenAI.Chat.ChatClient("thinker", new ApiKeyCredential(ServingFixture.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(fixture.Address + "/v1") }).AsIChatClient();
        string[] questions = ["hi", "2+3?", "tell me", ServingFixture.Question];
        var options = new ChatOptions { Temperature = 0.7f, Seed = 42, MaxOutputTokens = 16 };
        var served = await Task.WhenAll(questions.Select(q => remote.GetResponseAsync([new ChatMessage(ChatRole.User, q)], options)));
        var inProcess = await Task.WhenAll(questions.Select(q => local.GetResponseAsync([new ChatMessage(ChatRole.User, q)], options)));
        for (int i = 0; i < questions.Length; i++)
        {
            Assert.Equal(served[i].Text, inProcess[i].Text);
            var streamed = new StringBuilder();
            int updates = 0;
            ChatFinishReason? finish = null;
            await foreach (var update in local.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, questions[i])], options))
            {
                streamed.Append(update.Text);
                updates++;
                finish ??= update.FinishReason;
            }
            Assert.Equal(inProcess[i].Text, streamed.ToString());
            Assert.Equal(inProcess[i].FinishReason, finish);
            Assert.True(updates > 1 || inProcess[i].Text.Length == 0);
        }
    }
}
