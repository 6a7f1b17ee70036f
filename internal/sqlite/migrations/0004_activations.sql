-- Reserved for the activations capability; replaced by its real schema when it lands.
SELECT 1;
