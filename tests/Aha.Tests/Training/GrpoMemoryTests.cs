using Aha.Model;
using Aha.Training;

namespace Aha.Tests.Training;

public class GrpoMemoryTests
{
    // Qwen2.5-0.5B's config.json values (as aha bench load and grpo-memory generate them).
    static readonly ModelConfig Qwen = new ModelConfig
    {
        ModelType = "qwen2", VocabSize = 151936, HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = 24, NumAttentionHeads = 14,
        NumKeyValueHeads = 2, MaxPositionEmbeddings = 32768, RopeTheta = 1000000.0, RmsNormEps = 1e-6, TieWordEmbeddings = true,
        BosTokenId = 151643, EosTokenId = 151643, PadTokenId = null,
    }.Validate();

    [Theory]
    // Peak RSS measured by `aha bench grpo-memory --threads 2` (2 × 4 rollouts, 64 new tokens of ~20-token prompts, fp32).
    [InlineData(false, 17_184_763_904L)]
    [InlineData(true, 8_986_128_384L)]
    public void The_estimate_is_within_a_fifth_of_the_measured_peak(bool lora, long measured)
    {
        var estimate = GrpoMemory.Of(Qwen, lora ? new LoraConfig { Rank = 16, Alpha = 32 } : null, rows: 8, tokensPerRow: 84);
        Assert.InRange((double)estimate.Total / measured, 0.8, 1.2);
    }

    [Fact]
    public void Adapter_parameters_count_r_times_in_plus_out_per_projection()
    {
        // PEFT's print_trainable_parameters for Qwen2.5-0.5B, r 16, all seven projections: 8,798,208.
        Assert.Equal(8_798_208, GrpoMemory.AdapterParameters(Qwen, new LoraConfig { Rank = 16 }));
        using var tiny = Aha.Tests.Model.TinyModels.WithFormulaWeights(Aha.Tests.Model.TinyModels.Config());
        var adapters = tiny.AttachLora(new LoraConfig { Rank = 4 });
        Assert.Equal(adapters.parameters().Sum(p => p.numel()), GrpoMemory.AdapterParameters(tiny.Config, new LoraConfig { Rank = 4 }));
    }
}
