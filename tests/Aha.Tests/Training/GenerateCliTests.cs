using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Generation;
using Aha.Tests.Model;
using Aha.Tokenizer;

namespace Aha.Tests.Training;

/// <summary><c>aha generate</c> and <c>aha info</c> take the tokenizer from the checkpoint folder.</summary>
public class GenerateCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public void Generate_tokenizes_a_prompt_as_bos_then_bytes_and_reports_the_completion_ids()
    {
        using var run = new TempDirectory();
        var config = TinyModels.Config() with { VocabSize = 264, BosTokenId = 256, EosTokenId = 257, PadTokenId = 258 };
        using var model = TinyModels.Random(config, seed: 3);
        string folder = Checkpoint.Save(run.Path, "m", model, config, new ByteTokenizer(config.MaxPositionEmbeddings));

        int code = CliProcess.Run(Timeout, out var stdout, out var stderr, "generate", "--model", folder, "--prompt", "hi",
            "--max-tokens", "6", "--temperature", "0", "--json", "--threads", "1", "--device", "cpu");
        Assert.True(code == 0, stderr);
        var line = JsonNode.Parse(stdout.Trim())!;
        var ids = line["completion_ids"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        Assert.Equal(line["tokens"]!.GetValue<int>(), ids.Length);

        // The same greedy continuation of <|bos|> 'h' 'i' (256, 104, 105, by hand) in process: the CLI fed exactly those ids.
        model.eval();
        var expected = new Engine(model).Generate([new GenerationRequest([256, 104, 105])],
            new SamplingOptions { Temperature = 0, MaxNewTokens = 6, StopTokenIds = [257] })[0].TokenIds;
        Assert.Equal(expected, ids);

        code = CliProcess.Run(Timeout, out stdout, out stderr, "info", "--model", folder);
        Assert.True(code == 0, stderr);
        Assert.Contains("vocab 264, bos 256 <|bos|>, eos 257 <|eos|>, pad 258 <|pad|>, stop ids [257 <|eos|>, 262 <|end|>], chat template yes", stdout);
    }
}
