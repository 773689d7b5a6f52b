namespace Aha.Model;

/// <summary>
/// Tokens routed to each expert of one MoE layer since the last bias update (training forwards only). Routing is dropless:
/// every token reaches all of its top-k experts, so no capacity is ever dropped.
/// </summary>
/// <param name="Layer">decoder layer index; MTP layers count on from num_hidden_layers</param>
public sealed record ExpertLoad(int Layer, IReadOnlyList<long> TokensPerExpert)
{
    /// <summary>Busiest expert over the mean: 1 is perfect balance, n_routed_experts / num_experts_per_tok is total collapse. 0 before any token.</summary>
    public double MaxOverMean => TokensPerExpert.Sum() is long total and > 0 ? TokensPerExpert.Max() * (double)TokensPerExpert.Count / total : 0;
}
