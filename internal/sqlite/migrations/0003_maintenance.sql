-- Reserved for the maintenance capability; replaced by its real schema when it lands.
SELECT 1;
