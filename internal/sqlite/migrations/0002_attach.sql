-- Reserved for the attach capability; replaced by its real schema when it lands.
SELECT 1;
