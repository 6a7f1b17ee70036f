-- Reserved for the api capability; replaced by its real schema when it lands.
SELECT 1;
