using Aha.Checkpoints;
using Aha.Model;
using Aha.Serving;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Microsoft.AspNetCore.Builder;
using static TorchSharp.torch;

namespace Aha.Tests.Serving;

/// <summary>
/// A tiny byte model taught (a few hundred Adam steps on one conversation) to answer <see cref="Question"/> with
/// <c>&lt;think&gt;two and two&lt;/think&gt;4</c> and end its turn, saved as a checkpoint and served by a real `aha serve`
/// server (Kestrel on a free loopback port, API key required) for the whole test class.
/// </summary>
public sealed class ServingFixture : IAsyncLifetime
{
    public const string Question = "2+2?", Reasoning = "two and two", Answer = "4", ApiKey = "test-key";
    readonly TempDirectory _temp = new();

    public string ModelDir { get; private set; } = "";
    public ServedModel Served { get; private set; } = null!;
    public WebApplication App { get; private set; } = null!;
    public string Address { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ModelDir = SaveThinker(_temp.Path);
        Served = ServedModel.Load(ModelDir, maxBatch: 32, maxQueue: 64);
        App = OpenAiServer.Build(Served, new ServerOptions { Port = 0, ApiKey = ApiKey });
        await App.StartAsync();
        Address = OpenAiServer.Address(App);
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Served.Dispose();
        _temp.Dispose();
    }

    /// <summary>Trains the tiny model until greedy decoding writes the taught answer, saves it and returns its folder.</summary>
    /// <param name="question">The user message it learns to answer (default <see cref="Question"/>).</param>
    /// <param name="reply">Its reply (default the think block of <see cref="Reasoning"/>, then <see cref="Answer"/>).</param>
    public static string SaveThinker(string runDir, string question = Question, string? reply = null)
    {
        var config = TinyModels.Config() with { VocabSize = ByteTokenizer.VocabSize, BosTokenId = ByteTokenizer.Bos, EosTokenId = ByteTokenizer.Eos, PadTokenId = ByteTokenizer.Pad, MaxPositionEmbeddings = 96 };
        using var model = TinyModels.Random(config, seed: 7);
        var tokenizer = ByteTokenizer.Default;
        int[] prompt = tokenizer.EncodeChat([new ChatMessage("user", question)]);
        int[] sequence = [.. prompt, .. ByteTokenizer.EncodeBytes(reply ?? $"<think>{Reasoning}</think>{Answer}"), ByteTokenizer.End];
        using var optimizer = optim.Adam(model.parameters(), 1e-2);
        using var ids = tensor(sequence.Select(i => (long)i).ToArray(), [1, sequence.Length]);
        var inputs = ids.narrow(1, 0, sequence.Length - 1);
        var targets = ids.narrow(1, 1, sequence.Length - 1);
        for (int step = 0; step < 300; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(inputs).reshape(-1, config.VocabSize), targets.reshape(-1));
            loss.backward();
            optimizer.step();
            if (step % 50 == 49 && loss.item<float>() < 1e-3) break;
        }
        model.eval();
        return Checkpoint.Save(runDir, "thinker", model, config, tokenizer);
    }
}

/// <summary>One served model for every serving test class (it is trained once).</summary>
[CollectionDefinition(Name)]
public sealed class ServingCollection : ICollectionFixture<ServingFixture>
{
    public const string Name = "serving";
}
