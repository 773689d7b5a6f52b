using System.ClientModel;
using System.Text.Json.Nodes;
using Aha.Generation;
using Aha.Serving;
using Aha.Tests.Training;
using OpenAI;
using OpenAI.Chat;

namespace Aha.Tests.Serving;

/// <summary>`aha serve` over a Qwen3-layout checkpoint with the real published tokenizer and chat template (tiny random weights).</summary>
public class PublishedModelServingTests
{
    [Fact]
    public async Task A_qwen3_checkpoint_is_served_with_its_own_chat_template_stop_ids_and_greedy_tokens()
    {
        using var temp = new TempDirectory();
        string folder = PublishedCheckpoints.Build("qwen3", temp);
        using var served = ServedModel.Load(folder);
        await using var app = OpenAiServer.Build(served, new ServerOptions { Port = 0 });
        await app.StartAsync();
        var sdk = new ChatClient(served.Id, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(OpenAiServer.Address(app) + "/v1") });
        var result = await sdk.CompleteChatAsync([new UserChatMessage("What is 2+3?")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 });

        // The expectation, built without the server: Qwen3's template through the tokenizer, then Engine.Generate greedy.
        var prompt = served.Tokenizer.EncodeChat([new Aha.Tokenizer.ChatMessage("user", "What is 2+3?")]);
        Assert.EndsWith("<|im_start|>assistant\n", served.Tokenizer.Decode(prompt));
        var expected = new Engine(served.Model).Generate([new GenerationRequest(prompt)],
            new SamplingOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = served.Tokenizer.StopIds })[0];
        var splitter = new ReasoningSplitter();
        var (reasoning, content) = splitter.Push(served.Tokenizer.Decode(expected.TokenIds, skipSpecialTokens: true));
        var (heldReasoning, heldContent) = splitter.Flush();
        var message = JsonNode.Parse(result.GetRawResponse().Content.ToString())!["choices"]![0]!["message"]!;
        Assert.Equal(content + heldContent, message["content"]!.GetValue<string>());
        Assert.Equal(reasoning + heldReasoning, message["reasoning_content"]?.GetValue<string>() ?? "");
        Assert.Equal(prompt.Length, result.Value.Usage.InputTokenCount);
        Assert.Equal(expected.TokenIds.Count, result.Value.Usage.OutputTokenCount);
        Assert.Equal(expected.Truncated ? OpenAI.Chat.ChatFinishReason.Length : OpenAI.Chat.ChatFinishReason.Stop, result.Value.FinishReason);
        await app.StopAsync();
    }
}
